#include "widgets/prompt_panel.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace attnlab {

namespace {
QString esc(const QString& s) { return s.toHtmlEscaped(); }
// Shade for a KL value: white -> warm red, opaque (Qt rich text has no alpha blending).
QString klColor(double kl, double scale) {
  const double t = std::clamp(kl / scale, 0.0, 1.0);
  const QColor c = QColor::fromRgbF(1.0 - 0.12 * t, 1.0 - 0.62 * t, 1.0 - 0.68 * t);
  return c.name();
}
}  // namespace

PromptPanel::PromptPanel(QWidget* parent) : QWidget(parent) {
  promptEdit_ = new QPlainTextEdit(this);
  promptEdit_->setPlaceholderText(tr("Type a prompt, then Ctrl+Enter"));
  promptEdit_->setMaximumHeight(90);
  historyList_ = new QListWidget(this);
  historyList_->setToolTip(tr("Prompt history: double-click to reuse"));

  maxTokens_ = new QSpinBox(this);
  maxTokens_->setRange(1, 1024);
  greedy_ = new QCheckBox(tr("Greedy"), this);
  temperature_ = new QDoubleSpinBox(this);
  temperature_->setRange(0.05, 5.0);
  temperature_->setSingleStep(0.1);
  topK_ = new QSpinBox(this);
  topK_->setRange(0, 50257);
  topK_->setSpecialValueText(tr("off"));
  topP_ = new QDoubleSpinBox(this);
  topP_->setRange(0.01, 1.0);
  topP_->setSingleStep(0.05);
  seed_ = new QSpinBox(this);
  seed_->setRange(0, 1 << 30);
  noRepeat_ = new QSpinBox(this);
  noRepeat_->setRange(0, 16);
  noRepeat_->setSpecialValueText(tr("off"));
  noRepeat_->setToolTip(tr("Never produce a token that repeats an n-gram of this size already in the text "
                           "(greedy and sampling; small models loop without it)"));
  generate_ = new QPushButton(tr("Generate"), this);
  generate_->setDefault(true);
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->setEnabled(false);

  auto* settingsBox = new QGroupBox(tr("Generation"), this);
  auto* form = new QFormLayout(settingsBox);
  form->addRow(tr("New tokens"), maxTokens_);
  form->addRow(QString(), greedy_);
  form->addRow(tr("Temperature"), temperature_);
  form->addRow(tr("Top-k"), topK_);
  form->addRow(tr("Top-p"), topP_);
  form->addRow(tr("Seed"), seed_);
  form->addRow(tr("No repeat n-gram"), noRepeat_);

  refView_ = new QTextBrowser(this);
  customView_ = new QTextBrowser(this);
  auto* refBox = new QGroupBox(tr("Reference (frozen GPT-2)"), this);
  (new QVBoxLayout(refBox))->addWidget(refView_);
  auto* customBox = new QGroupBox(tr("Custom (cheaper attention) — shade = per-token KL"), this);
  (new QVBoxLayout(customBox))->addWidget(customView_);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(generate_);
  buttons->addWidget(cancel_);
  buttons->addStretch(1);

  auto* left = new QVBoxLayout;
  left->addWidget(new QLabel(tr("Prompt"), this));
  left->addWidget(promptEdit_);
  left->addLayout(buttons);
  left->addWidget(settingsBox);
  left->addWidget(new QLabel(tr("History"), this));
  left->addWidget(historyList_, 1);
  auto* leftHost = new QWidget(this);
  leftHost->setLayout(left);
  leftHost->setMaximumWidth(360);

  auto* outputs = new QSplitter(Qt::Horizontal, this);
  outputs->addWidget(refBox);
  outputs->addWidget(customBox);
  auto* right = new QVBoxLayout;
  right->addWidget(outputs, 1);
  right->addWidget(status_);

  auto* lay = new QHBoxLayout(this);
  lay->addWidget(leftHost);
  lay->addLayout(right, 1);

  connect(generate_, &QPushButton::clicked, this, &PromptPanel::requestGenerate);
  connect(cancel_, &QPushButton::clicked, this, &PromptPanel::cancelRequested);
  connect(greedy_, &QCheckBox::toggled, this, &PromptPanel::greedyChanged);
  connect(historyList_, &QListWidget::itemDoubleClicked, this, &PromptPanel::historyActivated);
  auto* sc = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), promptEdit_);
  connect(sc, &QShortcut::activated, this, &PromptPanel::requestGenerate);

  setSettings(GenerationSettings{});
  setModelReady(false, tr("Load a run or start one to compare completions."));
}

QString PromptPanel::prompt() const { return promptEdit_->toPlainText(); }
void PromptPanel::setPrompt(const QString& text) { promptEdit_->setPlainText(text); }

GenerationSettings PromptPanel::settings() const {
  GenerationSettings s;
  s.maxNewTokens = maxTokens_->value();
  s.greedy = greedy_->isChecked();
  s.temperature = temperature_->value();
  s.topK = topK_->value();
  s.topP = topP_->value();
  s.seed = static_cast<quint64>(seed_->value());
  s.noRepeatNgram = noRepeat_->value();
  return s;
}

void PromptPanel::setSettings(const GenerationSettings& s) {
  maxTokens_->setValue(s.maxNewTokens);
  greedy_->setChecked(s.greedy);
  temperature_->setValue(s.temperature);
  topK_->setValue(s.topK);
  topP_->setValue(s.topP);
  seed_->setValue(static_cast<int>(s.seed));
  noRepeat_->setValue(s.noRepeatNgram);
  greedyChanged(s.greedy);
}

void PromptPanel::greedyChanged(bool on) {
  temperature_->setEnabled(!on);
  topK_->setEnabled(!on);
  topP_->setEnabled(!on);
  seed_->setEnabled(!on);
}

QStringList PromptPanel::history() const {
  QStringList out;
  for (int i = 0; i < historyList_->count(); ++i) out << historyList_->item(i)->text();
  return out;
}

void PromptPanel::setHistory(const QStringList& h) {
  historyList_->clear();
  historyList_->addItems(h.mid(0, kMaxHistory));
}

void PromptPanel::addHistory(const QString& p) {
  QStringList h = history();
  h.removeAll(p);
  h.prepend(p);
  setHistory(h);
  Q_EMIT historyChanged(history());
}

void PromptPanel::historyActivated() {
  if (auto* it = historyList_->currentItem()) setPrompt(it->text());
}

void PromptPanel::requestGenerate() {
  const QString p = prompt();
  if (busy_ || !ready_) return;
  if (p.trimmed().isEmpty()) {
    status_->setText(tr("Type a prompt first."));
    return;
  }
  addHistory(p);
  setBusy(true);
  status_->setText(tr("Generating…"));
  Q_EMIT generateRequested(p, settings());
}

void PromptPanel::setBusy(bool busy) {
  busy_ = busy;
  generate_->setEnabled(!busy && ready_);
  cancel_->setEnabled(busy);
}

void PromptPanel::setModelReady(bool ready, const QString& why) {
  ready_ = ready;
  generate_->setEnabled(ready && !busy_);
  if (!ready && !why.isEmpty()) status_->setText(why);
  else if (ready && !busy_) status_->setText(tr("Ready."));
}

QString PromptPanel::tokensHtml(const QString& prompt, const QStringList& tokens, const QVector<double>& kl, int mark) {
  double scale = PromptPanel::kKlShadeMin;
  for (double v : kl)
    if (std::isfinite(v)) scale = std::max(scale, v);
  QString html = QStringLiteral("<div style=\"white-space: pre-wrap; font-family: monospace;\">");
  html += QStringLiteral("<span style=\"color:#777777;\">%1</span>").arg(esc(prompt));
  for (int i = 0; i < tokens.size(); ++i) {
    QString style;
    if (i < kl.size() && std::isfinite(kl[i])) style += QStringLiteral("background-color:%1;").arg(klColor(kl[i], scale));
    if (i == mark) style += QStringLiteral("font-weight:bold; text-decoration:underline; color:#0b4fa8;");
    html += style.isEmpty() ? esc(tokens[i]) : QStringLiteral("<span style=\"%1\">%2</span>").arg(style, esc(tokens[i]));
  }
  html += QStringLiteral("</div>");
  return html;
}

void PromptPanel::showCompletion(const CompletionView& c) {
  last_ = c;
  setBusy(false);
  refView_->setHtml(tokensHtml(c.prompt, c.refTokens, {}, c.firstDivergence));
  customView_->setHtml(tokensHtml(c.prompt, c.customTokens, c.customTokenKl, c.firstDivergence));
  double mean = 0, maxKl = 0;
  int n = 0;
  for (double v : c.customTokenKl)
    if (std::isfinite(v)) {
      mean += v;
      maxKl = std::max(maxKl, v);
      ++n;
    }
  mean = n ? mean / n : 0;
  QString msg;
  if (c.firstDivergence < 0)
    msg = tr("Identical completions (%1 tokens).").arg(c.customTokens.size());
  else
    msg = tr("First divergence at generated token %1: “%2” (reference) vs “%3” (custom).")
              .arg(c.firstDivergence + 1)
              .arg(esc(c.refTokens.value(c.firstDivergence)), esc(c.customTokens.value(c.firstDivergence)));
  msg += tr(" Per-token KL: mean %1, darkest shade %2 nats; %3 s.")
             .arg(mean, 0, 'f', 3)
             .arg(std::max(maxKl, kKlShadeMin), 0, 'f', 3)
             .arg(c.seconds, 0, 'f', 2);
  status_->setText(msg);
}

void PromptPanel::showError(const QString& message) {
  setBusy(false);
  status_->setText(QStringLiteral("<span style=\"color:#b00020;\">%1</span>").arg(esc(message)));
}

QString PromptPanel::referenceHtml() const { return refView_->toHtml(); }
QString PromptPanel::customHtml() const { return customView_->toHtml(); }
QString PromptPanel::referenceText() const { return refView_->toPlainText(); }
QString PromptPanel::customText() const { return customView_->toPlainText(); }

}  // namespace attnlab
