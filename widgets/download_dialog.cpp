#include "widgets/download_dialog.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace attnlab {

namespace {
const QStringList kModels = {"gpt2", "distilgpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"};
const QStringList kDatasets = {"wikitext-2-raw-v1", "wikitext-103-raw-v1", "wikitext-2-v1", "wikitext-103-v1"};
}  // namespace

DownloadDialog::DownloadDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Download from the Hugging Face Hub"));
  modelRadio_ = new QRadioButton(tr("Model (GPT-2 architecture, safetensors)"));
  dataRadio_ = new QRadioButton(tr("Dataset (WikiText, from Salesforce/wikitext)"));
  modelRadio_->setChecked(true);
  nameBox_ = new QComboBox;
  nameBox_->setEditable(true);
  nameBox_->setMinimumWidth(320);
  hint_ = new QLabel;
  hint_->setWordWrap(true);
  hint_->setStyleSheet(QStringLiteral("color: palette(mid);"));
  bar_ = new QProgressBar;
  bar_->setRange(0, 1000);
  bar_->setValue(0);
  bar_->setTextVisible(true);
  status_ = new QLabel(tr("Files go to the standard Hugging Face cache (HF_HOME / HF_HUB_CACHE are honoured)."));
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  downloadBtn_ = new QPushButton(tr("Download"));
  downloadBtn_->setDefault(true);
  cancelBtn_ = new QPushButton(tr("Cancel download"));
  closeBtn_ = new QPushButton(tr("Close"));

  auto* form = new QFormLayout;
  auto* kinds = new QVBoxLayout;
  kinds->addWidget(modelRadio_);
  kinds->addWidget(dataRadio_);
  form->addRow(tr("What"), kinds);
  form->addRow(tr("Name"), nameBox_);
  form->addRow(QString(), hint_);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch();
  buttons->addWidget(downloadBtn_);
  buttons->addWidget(cancelBtn_);
  buttons->addWidget(closeBtn_);
  auto* root = new QVBoxLayout(this);
  root->addLayout(form);
  root->addWidget(bar_);
  root->addWidget(status_);
  root->addLayout(buttons);

  connect(modelRadio_, &QRadioButton::toggled, this, [this] { kindChanged(); });
  connect(downloadBtn_, &QPushButton::clicked, this, &DownloadDialog::requestDownload);
  connect(cancelBtn_, &QPushButton::clicked, this, [this] {
    status_->setText(tr("Cancelling…"));
    Q_EMIT cancelRequested();
  });
  connect(closeBtn_, &QPushButton::clicked, this, &DownloadDialog::reject);
  kindChanged();
  setBusy(false);
}

DownloadDialog::Kind DownloadDialog::kind() const { return dataRadio_->isChecked() ? Kind::Dataset : Kind::Model; }

QString DownloadDialog::name() const { return nameBox_->currentText().trimmed(); }

void DownloadDialog::setRequest(Kind kind, const QString& name) {
  (kind == Kind::Dataset ? dataRadio_ : modelRadio_)->setChecked(true);
  kindChanged();
  nameBox_->setEditText(name);
}

QString DownloadDialog::statusText() const { return status_->text(); }

int DownloadDialog::progressValue() const { return bar_->maximum() == 0 ? -1 : bar_->value(); }

void DownloadDialog::kindChanged() {
  const bool model = kind() == Kind::Model;
  const QString cur = nameBox_->currentText();
  nameBox_->clear();
  nameBox_->addItems(model ? kModels : kDatasets);
  nameBox_->setEditable(model);  // datasets: the four WikiText configurations only
  if (model && !cur.isEmpty() && !kDatasets.contains(cur)) nameBox_->setEditText(cur);
  hint_->setText(model ? tr("gpt2, distilgpt2, gpt2-medium, gpt2-large, gpt2-xl, or any ORG/NAME with the GPT-2 "
                            "architecture. Only safetensors weights are fetched; a gated repository needs HF_TOKEN.")
                       : tr("Converted to train/valid/test text in AttnLab's data cache; choose the folder as Data."));
}

void DownloadDialog::requestDownload() {
  if (busy_) return;
  const QString n = name();
  static const QRegularExpression repoId(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$"));
  if (n.isEmpty() || (kind() == Kind::Model && !repoId.match(n).hasMatch())) {
    status_->setText(tr("Name: expected a repository id such as gpt2 or ORG/NAME, got \"%1\"").arg(n));
    return;
  }
  setBusy(true);
  bar_->setRange(0, 1000);
  bar_->setValue(0);
  status_->setText(tr("Contacting the Hub for %1…").arg(n));
  Q_EMIT downloadRequested(kind(), n);
}

void DownloadDialog::setProgress(qint64 done, qint64 total, const QString& file) {
  const QLocale loc;
  if (total > 0) {
    bar_->setRange(0, 1000);
    bar_->setValue(static_cast<int>(1000.0 * static_cast<double>(done) / static_cast<double>(total)));
    bar_->setFormat(QStringLiteral("%1: %p%").arg(file));
    status_->setText(tr("%1: %2 of %3").arg(file, loc.formattedDataSize(done), loc.formattedDataSize(total)));
  } else {
    bar_->setRange(0, 0);  // busy indicator: size unknown
    status_->setText(tr("%1: %2").arg(file, loc.formattedDataSize(done)));
  }
}

void DownloadDialog::setFinished(const QString& path) {
  setBusy(false);
  bar_->setRange(0, 1000);
  bar_->setValue(1000);
  bar_->setFormat(QStringLiteral("%p%"));
  status_->setText(tr("Done: %1").arg(path));
  Q_EMIT downloaded(kind(), path);
}

void DownloadDialog::setFailed(const QString& message) {
  setBusy(false);
  bar_->setRange(0, 1000);
  bar_->setValue(0);
  bar_->setFormat(QStringLiteral("%p%"));
  status_->setText(message);
}

void DownloadDialog::reject() {
  if (busy_) {
    Q_EMIT cancelRequested();
    status_->setText(tr("Cancelling…"));
    return;  // closes once the transfer has stopped (setFailed)
  }
  QDialog::reject();
}

void DownloadDialog::setBusy(bool busy) {
  busy_ = busy;
  downloadBtn_->setEnabled(!busy);
  cancelBtn_->setEnabled(busy);
  modelRadio_->setEnabled(!busy);
  dataRadio_->setEnabled(!busy);
  nameBox_->setEnabled(!busy);
}

}  // namespace attnlab
