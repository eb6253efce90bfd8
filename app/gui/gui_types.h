// Plain values the app's controllers hand to the GUI thread (Qt types only, no LibTorch):
// what a run reports when it starts, and what the inspector extracts from a model pair.
#pragma once
#include <QJsonObject>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include "widgets/run_types.h"

namespace attnlab {

/// RunInfo of the engine, at the start of a run.
struct RunStartInfo {
  QString runDir;
  QJsonObject config;          // DistillConfig::to_json()
  qint64 startStep = 0;        // > 0 when resumed
  qint64 totalSteps = 0;
  qint64 nLayer = 0, nHead = 0;
  qint64 trainableParameters = 0;
  double density = 1.0;
};

/// One layer's attention for one input (ModelPair::attention), per head T x T row-major.
struct LayerAttentionView {
  int layer = 0;
  int heads = 0, T = 0;
  QStringList labels;             // token labels, T
  QVector<QVector<float>> ref, custom;
  QVector<float> rowKl;           // mean over heads of KL(ref row || custom row), T
};

/// Thumbnails of every layer x head for reference and custom.
struct OverviewPair {
  AttentionOverviewView ref, custom;
};

/// What the inspector has loaded.
struct ModelPairInfo {
  QString source;                 // run directory, or "configuration"
  qint64 nLayer = 0, nHead = 0, nPositions = 0;
  QString variant;
  QVector<int> variantLayers;
};

}  // namespace attnlab

Q_DECLARE_METATYPE(attnlab::RunStartInfo)
Q_DECLARE_METATYPE(attnlab::LayerAttentionView)
Q_DECLARE_METATYPE(attnlab::OverviewPair)
Q_DECLARE_METATYPE(attnlab::ModelPairInfo)
