// Type a prompt, generate with the reference and the custom model, read both completions
// side by side. Each custom token is shaded by its per-token KL(P_ref || P_custom); the
// first generated token where the two differ is marked in both. Keeps a prompt history.
// The panel only emits generateRequested(); the app runs the models on a worker thread
// and answers with showCompletion() (or showError()).
#pragma once
#include <QStringList>
#include <QWidget>

#include "widgets/run_types.h"

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTextBrowser;

namespace attnlab {

class PromptPanel : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kMaxHistory = 50;
  /// Shades are relative to the completion's largest per-token KL, but never to less than
  /// this many nats (so that near-identical models stay pale).
  static constexpr double kKlShadeMin = 0.02;
  explicit PromptPanel(QWidget* parent = nullptr);

  QString prompt() const;
  void setPrompt(const QString& text);
  GenerationSettings settings() const;
  void setSettings(const GenerationSettings& s);
  QStringList history() const;
  void setHistory(const QStringList& h);
  bool busy() const { return busy_; }

  const CompletionView& completion() const { return last_; }
  QString referenceHtml() const;
  QString customHtml() const;
  QString referenceText() const;
  QString customText() const;
  QPushButton* generateButton() const { return generate_; }
  QPushButton* cancelButton() const { return cancel_; }

  /// HTML of a token sequence; kl (may be empty) shades tokens, `mark` outlines one token.
  static QString tokensHtml(const QString& prompt, const QStringList& tokens, const QVector<double>& kl, int mark);

 public Q_SLOTS:
  void showCompletion(const attnlab::CompletionView& c);
  void showError(const QString& message);
  void setBusy(bool busy);
  /// Enables generation (false until a model pair is loaded); `why` is shown when disabled.
  void setModelReady(bool ready, const QString& why = {});
  /// Starts a generation with the current prompt and settings (same as the button).
  void requestGenerate();

 Q_SIGNALS:
  void generateRequested(const QString& prompt, const attnlab::GenerationSettings& settings);
  void cancelRequested();
  void historyChanged(const QStringList& history);

 private Q_SLOTS:
  void greedyChanged(bool on);
  void historyActivated();

 private:
  void addHistory(const QString& p);
  QPlainTextEdit* promptEdit_;
  QListWidget* historyList_;
  QSpinBox* maxTokens_;
  QCheckBox* greedy_;
  QDoubleSpinBox* temperature_;
  QSpinBox* topK_;
  QDoubleSpinBox* topP_;
  QSpinBox* seed_;
  QSpinBox* noRepeat_;
  QPushButton* generate_;
  QPushButton* cancel_;
  QTextBrowser* refView_;
  QTextBrowser* customView_;
  QLabel* status_;
  CompletionView last_;
  bool busy_ = false;
  bool ready_ = false;
};

}  // namespace attnlab
