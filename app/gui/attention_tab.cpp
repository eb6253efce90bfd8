#include "gui/attention_tab.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>
#include <cmath>

#include "gui/inspector.h"
#include "widgets/attention_heatmap.h"
#include "widgets/attention_overview.h"

namespace attnlab {

AttentionTab::AttentionTab(Inspector* inspector, QWidget* parent) : QWidget(parent), inspector_(inspector) {
  source_ = new QComboBox(this);
  source_->addItems({tr("Validation block"), tr("Text")});
  text_ = new QLineEdit(this);
  text_->setPlaceholderText(tr("Text to inspect (when the source is Text)"));
  text_->setText(QStringLiteral("The quick brown fox jumps over the lazy dog because it wanted to see what was on the other side."));
  length_ = new QSpinBox(this);
  length_->setRange(2, 1024);
  length_->setValue(32);
  length_->setToolTip(tr("Tokens of the validation block"));
  block_ = new QSpinBox(this);
  block_->setRange(0, 1 << 20);
  block_->setToolTip(tr("Which validation block"));
  layer_ = new QSpinBox(this);
  layer_->setRange(0, 0);
  head_ = new QSpinBox(this);
  head_->setRange(0, 0);
  view_ = new QComboBox(this);
  view_->addItems({tr("Custom"), tr("Custom − reference")});
  gridView_ = new QComboBox(this);
  gridView_->addItems({tr("Reference thumbnails"), tr("Custom thumbnails")});
  computeBtn_ = new QPushButton(tr("Compute"), this);
  status_ = new QLabel(tr("Load or train a model, then Compute."), this);
  status_->setWordWrap(true);

  auto* inputBox = new QGroupBox(tr("Input"), this);
  auto* inForm = new QFormLayout(inputBox);
  inForm->addRow(tr("Source"), source_);
  inForm->addRow(tr("Text"), text_);
  auto* lb = new QHBoxLayout;
  lb->addWidget(length_);
  lb->addWidget(new QLabel(tr("block"), this));
  lb->addWidget(block_);
  inForm->addRow(tr("Length"), lb);
  auto* selBox = new QGroupBox(tr("Selection"), this);
  auto* selForm = new QFormLayout(selBox);
  selForm->addRow(tr("Layer"), layer_);
  selForm->addRow(tr("Head"), head_);
  selForm->addRow(tr("Right map"), view_);
  selForm->addRow(tr("Thumbnails"), gridView_);

  grid_ = new AttentionOverviewGrid(this);
  auto* left = new QVBoxLayout;
  left->addWidget(inputBox);
  left->addWidget(selBox);
  left->addWidget(computeBtn_);
  left->addWidget(grid_, 1);
  left->addWidget(status_);
  auto* leftHost = new QWidget(this);
  leftHost->setLayout(left);
  leftHost->setMaximumWidth(420);

  refMap_ = new AttentionHeatmap(this);
  customMap_ = new AttentionHeatmap(this);
  auto* maps = new QSplitter(Qt::Horizontal, this);
  maps->addWidget(refMap_);
  maps->addWidget(customMap_);
  auto* lay = new QHBoxLayout(this);
  lay->addWidget(leftHost);
  lay->addWidget(maps, 1);

  connect(computeBtn_, &QPushButton::clicked, this, &AttentionTab::compute);
  connect(text_, &QLineEdit::returnPressed, this, [this] {
    source_->setCurrentIndex(1);
    compute();
  });
  connect(layer_, &QSpinBox::valueChanged, this, &AttentionTab::layerHeadChanged);
  connect(head_, &QSpinBox::valueChanged, this, &AttentionTab::layerHeadChanged);
  connect(view_, &QComboBox::currentIndexChanged, this, &AttentionTab::viewChanged);
  connect(gridView_, &QComboBox::currentIndexChanged, this, &AttentionTab::viewChanged);
  connect(grid_, &AttentionOverviewGrid::cellSelected, this, &AttentionTab::cellSelected);
  connect(inspector_, &Inspector::tokensReady, this, &AttentionTab::runTokensReady);
  connect(inspector_, &Inspector::attentionReady, this, &AttentionTab::runAttentionReady);
  connect(inspector_, &Inspector::overviewReady, this, &AttentionTab::runOverviewReady);
  connect(inspector_, &Inspector::modelLoaded, this, &AttentionTab::runModelLoaded);
  connect(inspector_, &Inspector::failed, this, &AttentionTab::runFailed);
}

int AttentionTab::layer() const { return layer_->value(); }
int AttentionTab::head() const { return head_->value(); }

void AttentionTab::setLayerHead(int layer, int head) {
  layer_->setValue(layer);
  head_->setValue(head);
}

void AttentionTab::setValidationInput(int T, int block) {
  source_->setCurrentIndex(0);
  length_->setValue(T);
  block_->setValue(block);
}

void AttentionTab::compute() {
  if (!inspector_->hasModel()) {
    pendingCompute_ = true;
    status_->setText(tr("Loading the model pair…"));
    Q_EMIT modelNeeded();
    return;
  }
  cached_ = {};
  status_->setText(tr("Computing…"));
  inspector_->requestTokens(source_->currentIndex() == 1 ? text_->text() : QString(), length_->value(), block_->value());
}

void AttentionTab::runModelLoaded(const ModelPairInfo& info) {
  layer_->setRange(0, std::max<int>(0, info.nLayer - 1));
  head_->setRange(0, std::max<int>(0, info.nHead - 1));
  length_->setMaximum(static_cast<int>(std::max<qint64>(2, info.nPositions)));
  QStringList layers;
  for (int l : info.variantLayers) layers << QString::number(l);
  status_->setText(tr("%1: %2 layers × %3 heads; %4 in layers %5.")
                       .arg(info.source)
                       .arg(info.nLayer)
                       .arg(info.nHead)
                       .arg(info.variant, layers.join(QLatin1Char(','))));
  cached_ = {};
  if (pendingCompute_ || !ids_.isEmpty()) {
    pendingCompute_ = false;
    compute();
  }
}

void AttentionTab::runTokensReady(const QVector<int>& ids, const QStringList& labels) {
  ids_ = ids;
  labels_ = labels;
  inspector_->requestAttention(ids_, layer_->value());
  inspector_->requestOverview(ids_, kThumbSize);
}

void AttentionTab::runAttentionReady(const LayerAttentionView& v) {
  cached_ = v;
  double kl = 0;
  for (float x : v.rowKl) kl += x;
  status_->setText(tr("Layer %1: %2 tokens, mean row KL(ref ‖ custom) %3 nats.")
                       .arg(v.layer)
                       .arg(v.T)
                       .arg(v.rowKl.isEmpty() ? 0.0 : kl / v.rowKl.size(), 0, 'g', 4));
  showHead();
}

void AttentionTab::runOverviewReady(const OverviewPair& o) {
  overview_ = o;
  viewChanged();
}

void AttentionTab::runFailed(const QString& what, const QString& message) {
  if (what == QLatin1String("generate")) return;  // the prompt panel reports those
  pendingCompute_ = false;
  status_->setText(QStringLiteral("<span style=\"color:#b00020;\">%1</span>").arg(message.toHtmlEscaped()));
}

void AttentionTab::layerHeadChanged() {
  grid_->setSelected(layer_->value(), head_->value());
  if (ids_.isEmpty()) return;
  if (cached_.T > 0 && cached_.layer == layer_->value()) showHead();
  else inspector_->requestAttention(ids_, layer_->value());
}

void AttentionTab::viewChanged() {
  grid_->setOverview(gridView_->currentIndex() == 0 ? overview_.ref : overview_.custom);
  grid_->setSelected(layer_->value(), head_->value());
  showHead();
}

void AttentionTab::cellSelected(int layer, int head) { setLayerHead(layer, head); }

void AttentionTab::showHead() {
  const int h = head_->value();
  if (cached_.T <= 0 || h >= cached_.ref.size()) return;
  const int T = cached_.T;
  auto masked = [T](const QVector<float>& m) {
    QVector<float> out = m;
    for (int q = 0; q < T; ++q)
      for (int k = q + 1; k < T; ++k) out[q * T + k] = qQNaN();  // causal future
    return out;
  };
  AttentionMapView ref;
  ref.rows = ref.cols = T;
  ref.rowLabels = ref.colLabels = cached_.labels;
  ref.values = masked(cached_.ref[h]);
  ref.title = tr("reference · layer %1 head %2").arg(cached_.layer).arg(h);
  refMap_->setMap(ref);
  AttentionMapView right = ref;
  if (view_->currentIndex() == 0) {
    right.values = masked(cached_.custom[h]);
    right.title = tr("custom · layer %1 head %2").arg(cached_.layer).arg(h);
  } else {
    QVector<float> d = masked(cached_.custom[h]);
    for (int i = 0; i < d.size(); ++i) d[i] -= ref.values[i];
    right.values = d;
    right.diverging = true;
    right.title = tr("custom − reference · layer %1 head %2").arg(cached_.layer).arg(h);
  }
  customMap_->setMap(right);
}

}  // namespace attnlab
