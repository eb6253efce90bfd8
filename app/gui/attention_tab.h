// Attention tab: pick an input (a validation block or your own text), see every layer x
// head as a thumbnail (reference or custom), click one to inspect it as a full heatmap:
// reference and custom side by side, or custom minus reference. Work is done by the
// Inspector on its worker thread; this widget only asks and displays.
#pragma once
#include <QWidget>

#include "gui/gui_types.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace attnlab {

class AttentionHeatmap;
class AttentionOverviewGrid;
class Inspector;

class AttentionTab : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kThumbSize = 24;
  explicit AttentionTab(Inspector* inspector, QWidget* parent = nullptr);

  AttentionHeatmap* referenceMap() const { return refMap_; }
  AttentionHeatmap* customMap() const { return customMap_; }
  AttentionOverviewGrid* overview() const { return grid_; }
  int layer() const;
  int head() const;
  void setLayerHead(int layer, int head);
  /// True once a layer's maps are displayed for the current input.
  bool hasMaps() const { return cached_.T > 0; }
  /// The layer whose maps are displayed (-1 before any).
  int shownLayer() const { return cached_.T > 0 ? cached_.layer : -1; }
  /// Input = validation block `block` of T tokens (what compute() will use).
  void setValidationInput(int T, int block = 0);

 public Q_SLOTS:
  /// Tokenises the current input and requests the overview and the selected layer.
  void compute();

 Q_SIGNALS:
  /// Asked when compute() finds no model loaded (the window loads one from the form).
  void modelNeeded();

 private Q_SLOTS:
  void runTokensReady(const QVector<int>& ids, const QStringList& labels);
  void runAttentionReady(const attnlab::LayerAttentionView& v);
  void runOverviewReady(const attnlab::OverviewPair& o);
  void runModelLoaded(const attnlab::ModelPairInfo& info);
  void runFailed(const QString& what, const QString& message);
  void layerHeadChanged();
  void viewChanged();
  void cellSelected(int layer, int head);

 private:
  void showHead();
  Inspector* inspector_;
  QComboBox* source_;
  QLineEdit* text_;
  QSpinBox* length_;
  QSpinBox* block_;
  QSpinBox* layer_;
  QSpinBox* head_;
  QComboBox* view_;
  QComboBox* gridView_;
  QPushButton* computeBtn_;
  QLabel* status_;
  AttentionOverviewGrid* grid_;
  AttentionHeatmap* refMap_;
  AttentionHeatmap* customMap_;
  QVector<int> ids_;
  QStringList labels_;
  LayerAttentionView cached_;
  OverviewPair overview_;
  bool pendingCompute_ = false;
};

}  // namespace attnlab
