#include "widgets/coefficient_grid.h"

#include <qcustomplot.h>

#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <cmath>

#include "widgets/plot_util.h"

namespace attnlab {

namespace {
bool isMarkEvent(const QString& kind) {
  return kind == QLatin1String("redraw") || kind == QLatin1String("prune");
}
}  // namespace

CoefficientGrid::CoefficientGrid(QWidget* parent) : QWidget(parent) {
  legend_ = new QWidget(this);
  legendLayout_ = new QHBoxLayout(legend_);
  legendLayout_->setContentsMargins(4, 2, 4, 2);
  status_ = new QLabel(tr("No coefficients yet: they appear when a run with an interpretable variant "
                          "(mask-mix weights, NSA gates) reports them."),
                       this);
  status_->setWordWrap(true);

  plotsHost_ = new QWidget;
  plotsLayout_ = new QGridLayout(plotsHost_);
  plotsLayout_->setContentsMargins(0, 0, 0, 0);
  plotsLayout_->setSpacing(2);
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setWidget(plotsHost_);

  table_ = new QTableWidget(this);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->verticalHeader()->setDefaultSectionSize(22);
  table_->setToolTip(tr("Latest coefficient of each candidate per layer (darker = larger)"));

  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(scroll);
  split->addWidget(table_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  split->setSizes({640, 220});
  split->setChildrenCollapsible(false);
  scroll->setMinimumHeight(180);

  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->addWidget(status_);
  lay->addWidget(legend_);
  lay->addWidget(split, 1);

  timer_ = new QTimer(this);
  timer_->setInterval(1000 / kReplotHz);
  connect(timer_, &QTimer::timeout, this, &CoefficientGrid::replotTick);
  timer_->start();
}

QCustomPlot* CoefficientGrid::layerPlot(int row) const {
  return row >= 0 && row < layerCount() ? layers_[row].plot : nullptr;
}

void CoefficientGrid::clear() {
  for (LayerPlot& lp : layers_) delete lp.plot;
  layers_.clear();
  names_.clear();
  layerIds_.clear();
  marks_.clear();
  last_ = {};
  while (QLayoutItem* it = legendLayout_->takeAt(0)) {
    delete it->widget();
    delete it;
  }
  table_->clear();
  table_->setRowCount(0);
  table_->setColumnCount(0);
  status_->setVisible(true);
}

void CoefficientGrid::setRun(const RunRecord& rec) {
  clear();
  for (const RunEvent& e : rec.events) appendEvent(e);
  for (const CoefSnapshot& s : rec.coefs) appendSnapshot(s);
  flush();
}

void CoefficientGrid::rebuildLayout(const CoefSnapshot& snap) {
  const auto marks = marks_;
  clear();
  names_ = snap.names;
  layerIds_ = snap.layers;
  status_->setVisible(false);
  // Shared legend: one swatch per candidate, same colour in every layer plot.
  for (int n = 0; n < names_.size(); ++n) {
    auto* sw = new QLabel;
    sw->setFixedSize(14, 4);
    sw->setStyleSheet(QStringLiteral("background:%1").arg(seriesColor(n).name()));
    legendLayout_->addWidget(sw);
    legendLayout_->addWidget(new QLabel(names_[n]));
    legendLayout_->addSpacing(8);
  }
  auto* markSwatch = new QLabel;
  markSwatch->setFixedSize(2, 12);
  markSwatch->setStyleSheet(QStringLiteral("background:#999"));
  legendLayout_->addWidget(markSwatch);
  legendLayout_->addWidget(new QLabel(tr("redraw / prune event")));
  legendLayout_->addStretch(1);

  for (int row = 0; row < layerIds_.size(); ++row) {
    LayerPlot lp;
    lp.layer = layerIds_[row];
    lp.plot = new QCustomPlot;
    stylePlot(lp.plot, QString(), QString());
    lp.plot->setMinimumSize(220, 170);
    lp.plot->plotLayout()->insertRow(0);
    auto* title = new QCPTextElement(lp.plot, tr("layer %1").arg(lp.layer), QFont(font().family(), 9, QFont::Bold));
    lp.plot->plotLayout()->addElement(0, 0, title);
    for (int n = 0; n < names_.size(); ++n) {
      QCPGraph* g = lp.plot->addGraph();
      g->setName(names_[n]);
      g->setPen(QPen(seriesColor(n), 1.6));
      lp.graphs.push_back(g);
    }
    plotsLayout_->addWidget(lp.plot, row / kPlotsPerRow, row % kPlotsPerRow);
    layers_.push_back(lp);
  }
  for (const auto& m : marks)
    for (LayerPlot& lp : layers_) addMark(lp, m.first, m.second);
  marks_ = marks;

  table_->setColumnCount(names_.size());
  table_->setRowCount(layerIds_.size());
  table_->setHorizontalHeaderLabels(names_);
  QStringList rows;
  for (int l : layerIds_) rows << tr("layer %1").arg(l);
  table_->setVerticalHeaderLabels(rows);
}

void CoefficientGrid::appendSnapshot(const CoefSnapshot& snap) {
  if (snap.names.isEmpty() || snap.layers.isEmpty()) return;
  if (snap.names != names_ || snap.layers != layerIds_) rebuildLayout(snap);
  for (int row = 0; row < std::min<int>(snap.values.size(), layerCount()); ++row) {
    const QVector<double>& v = snap.values[row];
    for (int n = 0; n < std::min<int>(v.size(), layers_[row].graphs.size()); ++n)
      if (std::isfinite(v[n])) layers_[row].graphs[n]->addData(static_cast<double>(snap.step), v[n]);
  }
  last_ = snap;
  dirty_ = true;
}

void CoefficientGrid::addMark(LayerPlot& lp, double step, const QString& kind) {
  auto* line = new QCPItemStraightLine(lp.plot);
  line->point1->setCoords(step, 0);
  line->point2->setCoords(step, 1);
  line->setPen(QPen(QColor(150, 150, 150), 1, kind == QLatin1String("prune") ? Qt::DashLine : Qt::DotLine));
  line->setSelectable(false);
  if (lp.plot->itemCount() > kMaxMarks) lp.plot->removeItem(0);
}

void CoefficientGrid::appendEvent(const RunEvent& event) {
  if (!isMarkEvent(event.kind)) return;
  marks_.push_back({static_cast<double>(event.step), event.kind});
  if (marks_.size() > kMaxMarks) marks_.removeFirst();
  for (LayerPlot& lp : layers_) addMark(lp, static_cast<double>(event.step), event.kind);
  dirty_ = true;
}

void CoefficientGrid::updateTable(const CoefSnapshot& snap) {
  double vmax = 0;
  for (const auto& row : snap.values)
    for (double v : row)
      if (std::isfinite(v)) vmax = std::max(vmax, std::abs(v));
  for (int r = 0; r < std::min<int>(snap.values.size(), table_->rowCount()); ++r) {
    for (int c = 0; c < std::min<int>(snap.values[r].size(), table_->columnCount()); ++c) {
      const double v = snap.values[r][c];
      auto* item = table_->item(r, c);
      if (!item) {
        item = new QTableWidgetItem;
        item->setTextAlignment(Qt::AlignCenter);
        table_->setItem(r, c, item);
      }
      item->setText(QString::number(v, 'f', 3));
      const double t = vmax > 0 && std::isfinite(v) ? std::abs(v) / vmax : 0;
      // White -> deep blue; text flips to white on dark cells.
      const QColor bg = QColor::fromRgbF(1 - 0.85 * t, 1 - 0.6 * t, 1 - 0.2 * t);
      item->setBackground(bg);
      item->setForeground(t > 0.6 ? Qt::white : Qt::black);
    }
  }
}

void CoefficientGrid::replotTick() {
  if (dirty_ && isVisible()) flush();
}

void CoefficientGrid::flush() {
  updateTable(last_);
  for (LayerPlot& lp : layers_) {
    lp.plot->rescaleAxes(true);
    const QCPRange y = lp.plot->yAxis->range();
    lp.plot->yAxis->setRange(std::min(0.0, y.lower), y.upper + 0.08 * (y.upper - y.lower) + 1e-6);
    lp.plot->replot(QCustomPlot::rpQueuedReplot);
  }
  dirty_ = false;
}

QVector<QPointF> CoefficientGrid::curve(int row, int name) const {
  QVector<QPointF> out;
  if (row < 0 || row >= layerCount() || name < 0 || name >= layers_[row].graphs.size()) return out;
  const QCPGraph* g = layers_[row].graphs[name];
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out.push_back({it->key, it->value});
  return out;
}

}  // namespace attnlab
