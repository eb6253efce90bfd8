// --screenshot mode: drive the main window through a run (or open one), fill every tab,
// and save FILE (the window on the Training tab) plus FILE-<tab>.png for each tab.
#pragma once
#include <QString>
#include <QStringList>
#include <functional>

namespace attnlab {

class MainWindow;

struct ScreenshotOptions {
  QString file;         // FILE: the window; FILE-<tab>.png for each tab (same folder)
  qint64 steps = 0;     // > 0: run a distillation of this many steps first
  QString configFile;   // configuration to run (empty: the form's bundled defaults)
  QString runDir;       // open this run instead of running one
  QString prompt = QStringLiteral("The history of the city begins");
  int width = 1400, height = 900;
  int timeoutMs = 30 * 60 * 1000;  // for the run; loading and inspection get 5 min each
};

/// Waits until pred() holds or timeoutMs passed, sleeping in a nested event loop (woken by
/// events or every tickMs) rather than spinning: on a 2-core machine a polling GUI thread
/// takes a core from the worker it waits for. Used by the screenshot and benchmark modes.
bool waitUntil(const std::function<bool()>& pred, int timeoutMs, int tickMs = 50);

/// Returns the written files; `error` explains the first failure (files written so far
/// are still returned).
QStringList takeScreenshots(MainWindow& window, const ScreenshotOptions& opt, QString* error = nullptr);

}  // namespace attnlab
