// Small helpers shared by the QCustomPlot-based widgets: a consistent look, a hover
// read-out (nearest data point of any named graph) and plot export.
#pragma once
#include <QString>
#include <functional>

class QCustomPlot;
class QCPItemText;
class QCPItemTracer;
class QCPColorGradient;

namespace attnlab {

/// Fonts, margins, grid and interactions (drag + wheel zoom) used by every plot.
void stylePlot(QCustomPlot* plot, const QString& xLabel, const QString& yLabel);

/// Shows "graph name / step / value" next to the nearest data point under the mouse.
/// Graphs whose name starts with '_' (bands, helpers) are skipped. Owned by the plot.
class HoverReadout {
 public:
  using Formatter = std::function<QString(const QString& graph, double x, double y)>;
  HoverReadout(QCustomPlot* plot, Formatter fmt = {});
  /// Updates the read-out for a pixel position; returns the shown text ("" = none).
  QString update(double px, double py);
  void hide();
  const QString& text() const { return text_; }

 private:
  QCustomPlot* plot_;
  Formatter fmt_;
  QCPItemTracer* tracer_;
  QCPItemText* label_;
  QString text_;
};

/// Saves a plot as PNG, PDF or SVG chosen by the file suffix. SVG needs Qt SVG at build
/// time (ATTNLAB_HAVE_QTSVG); without it the error says so.
bool exportPlot(QCustomPlot* plot, const QString& path, int width, int height, QString* error);
/// The formats exportPlot() accepts ("png", "pdf" and, when built with Qt SVG, "svg").
QStringList exportFormats();

/// Perceptually uniform sequential gradient (viridis-like; QCustomPlot 2.1 has none).
QCPColorGradient viridisGradient();

}  // namespace attnlab
