// Engine headers first (LibTorch before Qt: Qt's keyword macros clash with it).
#include "hub/hub.h"
#include "common/error.h"
#include "common/fs.h"

#include "gui/hub_service.h"

#include <QLocale>
#include <QMetaObject>
#include <chrono>
#include <filesystem>

namespace attnlab {

namespace {
QString sizeText(int64_t bytes) { return QLocale().formattedDataSize(bytes); }

/// Data folders AttnLab can read, found in its data cache (downloaded WikiText splits).
KnownEntries scanData() {
  KnownEntries out;
  std::error_code ec;
  const auto root = hub::default_data_dir();
  if (!std::filesystem::is_directory(root, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    if (!e.is_directory(ec)) continue;
    bool splits = false;
    for (const char* f : {"train.txt", "valid.txt", "test.txt"}) splits |= std::filesystem::exists(e.path() / f, ec);
    if (!splits) continue;
    out.dirs << QString::fromStdString(e.path().string());
    out.labels << QStringLiteral("%1 — data cache").arg(QString::fromStdString(e.path().filename().string()));
  }
  return out;
}
}  // namespace

HubService::HubService(QObject* parent)
    : QObject(parent), cancel_(std::make_shared<std::atomic<bool>>(false)) {
  qRegisterMetaType<KnownEntries>();
  pool_.setMaxThreadCount(1);
  pool_.setExpiryTimeout(-1);
}

HubService::~HubService() {
  *cancel_ = true;
  pool_.clear();
  pool_.waitForDone();
}

void HubService::refresh() {
  pool_.start([this] {
    KnownEntries models;
    try {
      for (const auto& m : hub::list_cached_models()) {
        if (m.origin == "bundled" && m.path.filename() == "attnlab-demo") continue;  // item 0 of the picker
        if (!m.has_safetensors) continue;  // AttnLab loads safetensors only
        models.dirs << QString::fromStdString(m.path.string());
        models.labels << QStringLiteral("%1 — %2, %3")
                             .arg(QString::fromStdString(m.name),
                                  m.origin == "hf-cache" ? tr("HF cache") : tr("bundled"), sizeText(m.size_bytes));
      }
    } catch (const std::exception&) {
      // An unreadable cache lists nothing; the Browse button still works.
    }
    KnownEntries data;
    try {
      data = scanData();
    } catch (const std::exception&) {
    }
    QMetaObject::invokeMethod(this, [this, models, data] {
      Q_EMIT modelsListed(models);
      Q_EMIT dataListed(data);
    }, Qt::QueuedConnection);
  });
}

void HubService::download(const QString& kind, const QString& name) {
  if (busy_) {
    Q_EMIT failed(tr("a download is already running"));
    return;
  }
  busy_ = true;
  *cancel_ = false;
  auto cancel = cancel_;
  const std::string n = name.toStdString();
  const bool model = kind == QLatin1String("model");
  pool_.start([this, cancel, n, model] {
    using Clock = std::chrono::steady_clock;
    auto last = Clock::now() - std::chrono::seconds(1);
    std::string lastFile;
    auto onProgress = [&](int64_t done, int64_t total, const std::string& file) {
      const auto now = Clock::now();
      // At most ~10 updates per second, but always the first and last of each file.
      if (file == lastFile && done != total && now - last < std::chrono::milliseconds(100)) return;
      last = now;
      lastFile = file;
      const QString f = QString::fromStdString(file);
      QMetaObject::invokeMethod(this, [this, done, total, f] { Q_EMIT progress(done, total, f); },
                                Qt::QueuedConnection);
    };
    QString path, error;
    try {
      const auto dir = model ? hub::download_model(n, {}, onProgress, cancel.get())
                             : hub::download_dataset_wikitext(n, {}, onProgress, cancel.get());
      path = QString::fromStdString(dir.string());
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
      if (*cancel) error = tr("Cancelled (what was downloaded so far is kept and resumes next time): %1").arg(error);
    }
    QMetaObject::invokeMethod(this, [this, path, error] {
      busy_ = false;
      if (error.isEmpty()) {
        Q_EMIT finished(path);
        refresh();
      } else {
        Q_EMIT failed(error);
      }
    }, Qt::QueuedConnection);
  });
}

void HubService::cancel() { *cancel_ = true; }

}  // namespace attnlab
