// Download a model or a WikiText dataset from the Hugging Face Hub: what to fetch, a progress
// bar per file, Cancel. Plain Qt: the transfer itself runs elsewhere (app/gui/hub_service),
// this dialog only asks for it (downloadRequested / cancelRequested) and shows what it is told.
#pragma once
#include <QDialog>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QRadioButton;

namespace attnlab {

class DownloadDialog : public QDialog {
  Q_OBJECT

 public:
  enum class Kind { Model, Dataset };
  explicit DownloadDialog(QWidget* parent = nullptr);

  Kind kind() const;
  /// The repository id (models) or the WikiText configuration name (datasets).
  QString name() const;
  void setRequest(Kind kind, const QString& name);
  bool busy() const { return busy_; }
  QString statusText() const;
  int progressValue() const;  // per mille of the current file, -1 when its size is unknown

 public Q_SLOTS:
  /// Starts the request as if Download had been clicked (tests, scripted use).
  void requestDownload();
  void setProgress(qint64 done, qint64 total, const QString& file);
  void setFinished(const QString& path);
  void setFailed(const QString& message);
  void reject() override;  // Esc / Close while busy cancels the transfer first

 Q_SIGNALS:
  void downloadRequested(attnlab::DownloadDialog::Kind kind, const QString& name);
  void cancelRequested();
  /// After a successful download: the snapshot (model) or data folder.
  void downloaded(attnlab::DownloadDialog::Kind kind, const QString& path);


 private:
  void setBusy(bool busy);
  void kindChanged();

  QRadioButton* modelRadio_ = nullptr;
  QRadioButton* dataRadio_ = nullptr;
  QComboBox* nameBox_ = nullptr;
  QLabel* hint_ = nullptr;
  QProgressBar* bar_ = nullptr;
  QLabel* status_ = nullptr;
  QPushButton* downloadBtn_ = nullptr;
  QPushButton* cancelBtn_ = nullptr;
  QPushButton* closeBtn_ = nullptr;
  bool busy_ = false;
};

}  // namespace attnlab
