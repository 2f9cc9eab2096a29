"""Course baseline: the Google Advanced Data Analytics (Course 5) TikTok notebook
"Build a regression model", as one script, for timing comparisons.

It reproduces the notebook's steps as written, including its flaw: the minority class
is upsampled BEFORE the train/test split, so duplicated rows land in both parts and the
test scores are optimistic. That is the point of a baseline; do not fix it here.

Usage: python bench/baseline_course.py OUTPUT_DIR
Data:  $TIKTOK_DATA, else ../shared/data/tiktok_dataset.csv relative to the repo root.
Writes the notebook's seven figures (four boxplots, a histogram, a heatmap and a
confusion matrix) to OUTPUT_DIR as PNG.
"""

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, classification_report, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import resample

if len(sys.argv) != 2:
    sys.exit("usage: baseline_course.py OUTPUT_DIR")
out_dir = Path(sys.argv[1])
out_dir.mkdir(parents=True, exist_ok=True)
repo_root = Path(__file__).resolve().parent.parent
data_path = Path(os.environ.get("TIKTOK_DATA", repo_root / ".." / "shared" / "data" / "tiktok_dataset.csv"))

# Load and explore
data = pd.read_csv(data_path)
print(data.head(n=10))
print(data.shape)
print(data.dtypes)
data.info()
print(data.describe())
print(data.isna().sum())

data = data.dropna(axis=0)
print(data.duplicated().sum())
data = data.drop_duplicates()

# Outliers: one boxplot per count column
for column in ["video_duration_sec", "video_view_count", "video_like_count", "video_comment_count"]:
    plt.figure(figsize=(6, 2))
    plt.title(f"Boxplot to detect outliers for {column}", fontsize=12)
    plt.xticks(fontsize=12)
    plt.yticks(fontsize=12)
    sns.boxplot(x=data[column])
    plt.savefig(out_dir / f"boxplot_{column}.png")
    plt.close()

for column in ["video_like_count", "video_comment_count"]:
    percentile25 = data[column].quantile(0.25)
    percentile75 = data[column].quantile(0.75)
    iqr = percentile75 - percentile25
    upper_limit = percentile75 + 1.5 * iqr
    data.loc[data[column] > upper_limit, column] = upper_limit

# Class balance, then upsampling of the minority class (before the split, as the course does)
print(data["verified_status"].value_counts(normalize=True))

data_majority = data[data["verified_status"] == "not verified"]
data_minority = data[data["verified_status"] == "verified"]
data_minority_upsampled = resample(data_minority, replace=True, n_samples=len(data_majority), random_state=0)
data_upsampled = pd.concat([data_majority, data_minority_upsampled]).reset_index(drop=True)
print(data_upsampled["verified_status"].value_counts())

# Transcription text length
print(
    data_upsampled[["verified_status", "video_transcription_text"]]
    .groupby(by="verified_status")[["video_transcription_text"]]
    .agg(func=lambda array: np.mean([len(text) for text in array]))
)
data_upsampled["text_length"] = data_upsampled["video_transcription_text"].apply(func=lambda text: len(text))
print(data_upsampled.head())

sns.histplot(
    data=data_upsampled,
    stat="count",
    multiple="stack",
    x="text_length",
    kde=False,
    palette="pastel",
    hue="verified_status",
    element="bars",
    legend=True,
)
plt.xlabel("video_transcription_text length (number of characters)")
plt.ylabel("Count")
plt.title("Distribution of video_transcription_text length for videos posted by verified and unverified accounts")
plt.savefig(out_dir / "text_length_histogram.png")
plt.close()

# Correlations
print(data_upsampled.corr(numeric_only=True))
plt.figure(figsize=(8, 6))
sns.heatmap(
    data_upsampled[
        [
            "video_duration_sec",
            "claim_status",
            "author_ban_status",
            "video_view_count",
            "video_like_count",
            "video_share_count",
            "video_download_count",
            "video_comment_count",
            "text_length",
        ]
    ].corr(numeric_only=True),
    annot=True,
    cmap="crest",
)
plt.title("Heatmap of the dataset")
plt.savefig(out_dir / "correlation_heatmap.png")
plt.close()

# Model: likes are dropped (strongly correlated with views)
y = data_upsampled["verified_status"]
X = data_upsampled[
    [
        "video_duration_sec",
        "claim_status",
        "author_ban_status",
        "video_view_count",
        "video_share_count",
        "video_download_count",
        "video_comment_count",
    ]
]
print(X.head())

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
print(X_train.shape, X_test.shape, y_train.shape, y_test.shape)
print(X_train.dtypes)
print(X_train["claim_status"].unique())
print(X_train["author_ban_status"].unique())

X_train_to_encode = X_train[["claim_status", "author_ban_status"]]
X_encoder = OneHotEncoder(drop="first", sparse_output=False)
X_train_encoded = X_encoder.fit_transform(X_train_to_encode)
X_train_encoded_df = pd.DataFrame(data=X_train_encoded, columns=X_encoder.get_feature_names_out())
X_train_final = pd.concat(
    [X_train.drop(columns=["claim_status", "author_ban_status"]).reset_index(drop=True), X_train_encoded_df],
    axis=1,
)
print(X_train_final.head())

y_encoder = OneHotEncoder(drop="first", sparse_output=False)
y_train_final = y_encoder.fit_transform(y_train.to_numpy().reshape(-1, 1)).ravel()

log_clf = LogisticRegression(random_state=0, max_iter=800).fit(X_train_final, y_train_final)

# Evaluate on the test part
X_test_to_encode = X_test[["claim_status", "author_ban_status"]]
X_test_encoded = X_encoder.transform(X_test_to_encode)
X_test_encoded_df = pd.DataFrame(data=X_test_encoded, columns=X_encoder.get_feature_names_out())
X_test_final = pd.concat(
    [X_test.drop(columns=["claim_status", "author_ban_status"]).reset_index(drop=True), X_test_encoded_df],
    axis=1,
)
y_pred = log_clf.predict(X_test_final)
y_test_final = y_encoder.transform(y_test.to_numpy().reshape(-1, 1)).ravel()

log_cm = confusion_matrix(y_test_final, y_pred, labels=log_clf.classes_)
log_disp = ConfusionMatrixDisplay(confusion_matrix=log_cm, display_labels=log_clf.classes_)
log_disp.plot()
plt.savefig(out_dir / "confusion_matrix.png")
plt.close()

target_labels = ["verified", "not verified"]
print(classification_report(y_test_final, y_pred, target_names=target_labels))
print(pd.DataFrame(data={"Feature Name": log_clf.feature_names_in_, "Model Coefficient": log_clf.coef_[0]}))
