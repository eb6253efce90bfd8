#include "widgets/runs_browser.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "widgets/loss_plot.h"
#include "widgets/metrics_plots.h"
#include "widgets/plot_util.h"

namespace attnlab {

RunsBrowser::RunsBrowser(QWidget* parent) : QWidget(parent) {
  list_ = new QListWidget(this);
  list_->setToolTip(tr("Checked runs are overlaid; double-click opens a run in the inspector tabs"));
  auto* openBtn = new QPushButton(tr("Open run…"), this);
  auto* folderBtn = new QPushButton(tr("Open all in folder…"), this);
  auto* removeBtn = new QPushButton(tr("Remove"), this);
  auto* reloadBtn = new QPushButton(tr("Reload"), this);
  auto* left = new QVBoxLayout;
  left->addWidget(list_, 1);
  auto* b1 = new QHBoxLayout;
  b1->addWidget(openBtn);
  b1->addWidget(folderBtn);
  auto* b2 = new QHBoxLayout;
  b2->addWidget(removeBtn);
  b2->addWidget(reloadBtn);
  left->addLayout(b1);
  left->addLayout(b2);
  auto* leftHost = new QWidget(this);
  leftHost->setLayout(left);

  loss_ = new LossPlot(this);
  metrics_ = new MetricsPlots(this);
  auto* curves = new QSplitter(Qt::Vertical, this);
  curves->addWidget(loss_);
  curves->addWidget(metrics_);
  curves->setStretchFactor(0, 1);
  curves->setStretchFactor(1, 1);

  diffA_ = new QComboBox(this);
  diffB_ = new QComboBox(this);
  onlyDiff_ = new QCheckBox(tr("Only differences"), this);
  onlyDiff_->setChecked(true);
  diff_ = new QTableWidget(0, 3, this);
  diff_->setHorizontalHeaderLabels({tr("Field"), tr("Run A"), tr("Run B")});
  diff_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  diff_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  diff_->verticalHeader()->setVisible(false);
  auto* diffHost = new QWidget(this);
  auto* dl = new QVBoxLayout(diffHost);
  auto* dbar = new QHBoxLayout;
  dbar->addWidget(new QLabel(tr("A"), this));
  dbar->addWidget(diffA_, 1);
  dbar->addWidget(new QLabel(tr("B"), this));
  dbar->addWidget(diffB_, 1);
  dbar->addWidget(onlyDiff_);
  dl->addLayout(dbar);
  dl->addWidget(diff_, 1);

  auto* tabs = new QTabWidget(this);
  tabs->addTab(curves, tr("Curves"));
  tabs->addTab(diffHost, tr("Config diff"));

  auto* exportPlotsBtn = new QPushButton(tr("Export plots…"), this);
  exportPlotsBtn->setToolTip(tr("PNG or PDF%1").arg(exportFormats().contains("svg") ? tr(" or SVG") : tr(" (SVG needs Qt SVG, not in this build)")));
  auto* exportCsvBtn = new QPushButton(tr("Export CSV…"), this);
  status_ = new QLabel(this);
  auto* ebar = new QHBoxLayout;
  ebar->addWidget(exportPlotsBtn);
  ebar->addWidget(exportCsvBtn);
  ebar->addWidget(status_, 1);
  auto* right = new QVBoxLayout;
  right->addWidget(tabs, 1);
  right->addLayout(ebar);
  auto* rightHost = new QWidget(this);
  rightHost->setLayout(right);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(leftHost);
  split->addWidget(rightHost);
  split->setStretchFactor(1, 4);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->addWidget(split);

  connect(openBtn, &QPushButton::clicked, this, &RunsBrowser::openClicked);
  connect(folderBtn, &QPushButton::clicked, this, &RunsBrowser::openFolderClicked);
  connect(removeBtn, &QPushButton::clicked, this, &RunsBrowser::removeClicked);
  connect(reloadBtn, &QPushButton::clicked, this, &RunsBrowser::refresh);
  connect(list_, &QListWidget::itemChanged, this, &RunsBrowser::itemChanged);
  connect(list_, &QListWidget::itemDoubleClicked, this, [this](QListWidgetItem* it) {
    const int i = list_->row(it);
    if (i >= 0 && i < runCount()) Q_EMIT runActivated(runs_[i]->rec.dir);
  });
  connect(diffA_, &QComboBox::currentIndexChanged, this, &RunsBrowser::diffSelectionChanged);
  connect(diffB_, &QComboBox::currentIndexChanged, this, &RunsBrowser::diffSelectionChanged);
  connect(onlyDiff_, &QCheckBox::toggled, this, &RunsBrowser::diffSelectionChanged);
  connect(exportPlotsBtn, &QPushButton::clicked, this, &RunsBrowser::exportPlotsClicked);
  connect(exportCsvBtn, &QPushButton::clicked, this, &RunsBrowser::exportCsvClicked);

  poll_ = new QTimer(this);
  poll_->setInterval(kPollMs);
  connect(poll_, &QTimer::timeout, this, [this] {
    if (isVisible()) refresh();
  });
  poll_->start();
}

RunsBrowser::~RunsBrowser() = default;

int RunsBrowser::addRunDir(const QString& dir, QString* error) {
  const QString abs = QFileInfo(QDir::cleanPath(dir)).absoluteFilePath();
  for (int i = 0; i < runCount(); ++i)
    if (runs_[i]->rec.dir == abs) return i;
  if (!QFileInfo::exists(QDir(abs).filePath("metrics.jsonl")) && !QFileInfo::exists(QDir(abs).filePath("config.json"))) {
    if (error) *error = tr("%1 is not a run directory (no config.json or metrics.jsonl)").arg(dir);
    return -1;
  }
  auto e = std::make_unique<Entry>();
  e->reader.setRunDir(abs);
  e->rec = e->reader.readAll();
  runs_.push_back(std::move(e));
  updating_ = true;
  auto* item = new QListWidgetItem(runs_.back()->rec.name, list_);
  item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
  item->setCheckState(Qt::Checked);
  item->setToolTip(abs);
  item->setForeground(seriesColor(runCount() - 1).darker(120));
  updating_ = false;
  rebuildOverlay();
  updateDiffCombos();
  const RunRecord& r = runs_.back()->rec;
  status_->setText(tr("%1: %2 train rows, %3 validations%4")
                       .arg(r.name)
                       .arg(r.train.size())
                       .arg(r.valid.size())
                       .arg(r.truncatedTail ? tr(" (last line incomplete: still running or interrupted)") : QString()));
  return runCount() - 1;
}

int RunsBrowser::addRunsUnder(const QString& root) {
  int n = 0;
  const QDir d(root);
  for (const QFileInfo& fi : d.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
    if (QFileInfo::exists(QDir(fi.absoluteFilePath()).filePath("metrics.jsonl")) && addRunDir(fi.absoluteFilePath()) >= 0) ++n;
  return n;
}

void RunsBrowser::removeRun(int i) {
  if (i < 0 || i >= runCount()) return;
  runs_.erase(runs_.begin() + i);
  updating_ = true;
  delete list_->takeItem(i);
  updating_ = false;
  rebuildOverlay();
  updateDiffCombos();
}

void RunsBrowser::setRunVisible(int i, bool visible) {
  if (i < 0 || i >= runCount()) return;
  list_->item(i)->setCheckState(visible ? Qt::Checked : Qt::Unchecked);
}

void RunsBrowser::rebuildOverlay() {
  loss_->clear();
  metrics_->clear();
  for (int i = 0; i < runCount(); ++i) {
    Entry& e = *runs_[i];
    e.plotIndex = -1;
    if (!e.visible) continue;
    const QColor c = seriesColor(i);
    e.plotIndex = loss_->addRun(e.rec.name, c);
    metrics_->addRun(e.rec.name, c);
    loss_->setRun(e.plotIndex, e.rec);
    metrics_->setRun(e.plotIndex, e.rec);
  }
  loss_->flush();
  metrics_->flush();
}

void RunsBrowser::refresh() {
  bool any = false;
  for (auto& e : runs_) {
    RunRecord delta;
    delta.name = e->rec.name;
    const int before = e->rec.badLines;
    // Poll into a scratch record, then append: the plots get only the new rows.
    const int rows = e->reader.poll(delta);
    if (rows == 0) continue;
    any = true;
    e->rec.train += delta.train;
    e->rec.valid += delta.valid;
    e->rec.coefs += delta.coefs;
    e->rec.events += delta.events;
    e->rec.badLines = before + delta.badLines;
    e->rec.truncatedTail = delta.truncatedTail;
    if (e->plotIndex >= 0) {
      loss_->appendTrain(e->plotIndex, delta.train);
      loss_->appendValid(e->plotIndex, delta.valid);
      metrics_->appendTrain(e->plotIndex, delta.train);
      metrics_->appendValid(e->plotIndex, delta.valid);
    }
  }
  if (any) updateDiffCombos();
}

void RunsBrowser::itemChanged(QListWidgetItem* item) {
  if (updating_) return;
  const int i = list_->row(item);
  if (i < 0 || i >= runCount()) return;
  runs_[i]->visible = item->checkState() == Qt::Checked;
  rebuildOverlay();
}

void RunsBrowser::updateDiffCombos() {
  const int a = diffA_->currentIndex(), b = diffB_->currentIndex();
  updating_ = true;
  diffA_->clear();
  diffB_->clear();
  for (auto& e : runs_) {
    diffA_->addItem(e->rec.name);
    diffB_->addItem(e->rec.name);
  }
  diffA_->setCurrentIndex(a >= 0 && a < runCount() ? a : 0);
  diffB_->setCurrentIndex(b >= 0 && b < runCount() ? b : std::max(0, runCount() - 1));
  updating_ = false;
  diffSelectionChanged();
}

void RunsBrowser::setDiffPair(int a, int b) {
  updating_ = true;
  diffA_->setCurrentIndex(a);
  diffB_->setCurrentIndex(b);
  updating_ = false;
  diffSelectionChanged();
}

void RunsBrowser::setOnlyDifferences(bool on) { onlyDiff_->setChecked(on); }

void RunsBrowser::diffSelectionChanged() {
  if (updating_) return;
  diff_->setRowCount(0);
  const int a = diffA_->currentIndex(), b = diffB_->currentIndex();
  if (a < 0 || b < 0 || a >= runCount() || b >= runCount()) return;
  const auto fa = flattenJson(runs_[a]->rec.config), fb = flattenJson(runs_[b]->rec.config);
  QStringList keys = fa.keys();
  for (const QString& k : fb.keys())
    if (!fa.contains(k)) keys << k;
  keys.sort();
  const QString missing = tr("(absent)");
  for (const QString& k : keys) {
    const QString va = fa.value(k, missing), vb = fb.value(k, missing);
    const bool differs = va != vb;
    if (onlyDiff_->isChecked() && !differs) continue;
    const int row = diff_->rowCount();
    diff_->insertRow(row);
    auto* key = new QTableWidgetItem(k);
    auto* ia = new QTableWidgetItem(va);
    auto* ib = new QTableWidgetItem(vb);
    if (differs)
      for (auto* it : {key, ia, ib}) it->setBackground(QColor(255, 243, 205));
    diff_->setItem(row, 0, key);
    diff_->setItem(row, 1, ia);
    diff_->setItem(row, 2, ib);
  }
}

QStringList RunsBrowser::exportPlots(const QString& basePath, QString* error) {
  QStringList written;
  const QFileInfo fi(basePath);
  const QString ext = fi.suffix().isEmpty() ? QStringLiteral("png") : fi.suffix().toLower();
  const QString stem = QDir(fi.absolutePath()).filePath(fi.completeBaseName());
  loss_->flush();
  metrics_->flush();
  QDir().mkpath(fi.absolutePath());
  auto one = [&](QCustomPlot* p, const QString& name) {
    const QString path = stem + QLatin1Char('-') + name + QLatin1Char('.') + ext;
    if (!exportPlot(p, path, 900, 540, error)) return false;
    written << path;
    return true;
  };
  if (!one(loss_->plot(), QStringLiteral("loss"))) return written;
  for (int p = 0; p < MetricsPlots::PanelCount; ++p)
    if (!one(metrics_->panel(static_cast<MetricsPlots::Panel>(p)), MetricsPlots::panelName(static_cast<MetricsPlots::Panel>(p))))
      return written;
  return written;
}

bool RunsBrowser::exportCsv(const QString& path, QString* error) {
  QVector<RunRecord> recs;
  for (auto& e : runs_)
    if (e->visible) recs << e->rec;
  return writeMetricsCsv(path, recs, error);
}

void RunsBrowser::openClicked() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open run directory"));
  if (dir.isEmpty()) return;
  QString err;
  if (addRunDir(dir, &err) < 0) status_->setText(err);
}

void RunsBrowser::openFolderClicked() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder of run directories"));
  if (dir.isEmpty()) return;
  status_->setText(tr("%n run(s) opened", nullptr, addRunsUnder(dir)));
}

void RunsBrowser::removeClicked() { removeRun(list_->currentRow()); }

void RunsBrowser::exportPlotsClicked() {
  // Default to the first visible run's report/ folder (the run directory layout).
  QString start;
  for (auto& e : runs_)
    if (e->visible && !e->rec.dir.isEmpty()) {
      start = QDir(e->rec.dir).filePath("report/curves.png");
      break;
    }
  QString filter = tr("PNG image (*.png);;PDF document (*.pdf)");
  if (exportFormats().contains("svg")) filter += tr(";;SVG image (*.svg)");
  const QString path = QFileDialog::getSaveFileName(this, tr("Export plots"), start, filter);
  if (path.isEmpty()) return;
  QString err;
  const QStringList files = exportPlots(path, &err);
  status_->setText(err.isEmpty() ? tr("Wrote %1 files next to %2").arg(files.size()).arg(path) : err);
}

void RunsBrowser::exportCsvClicked() {
  QString start;
  for (auto& e : runs_)
    if (e->visible && !e->rec.dir.isEmpty()) {
      start = QDir(e->rec.dir).filePath("report/metrics.csv");
      break;
    }
  const QString path = QFileDialog::getSaveFileName(this, tr("Export CSV"), start, tr("CSV (*.csv)"));
  if (path.isEmpty()) return;
  QDir().mkpath(QFileInfo(path).absolutePath());
  QString err;
  status_->setText(exportCsv(path, &err) ? tr("Wrote %1").arg(path) : err);
}

}  // namespace attnlab
