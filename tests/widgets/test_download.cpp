// GUI Hub download: the Download dialog drives HubService against a loopback imitation of the
// Hub (tests/fake_hub.h), the snapshot lands in the HF cache named by HF_HUB_CACHE, the Setup
// form selects it and the model picker lists it; a missing repository and a cancelled
// download end with a message and an idle dialog.
#include <torch/torch.h>

#include <QComboBox>
#include <QtTest/QtTest>
#include <cstdlib>

#include "fake_hub.h"
#include "test_registry.h"
#include "test_util.h"

#include "common/fs.h"
#include "model/gpt2.h"

#include "gui/hub_service.h"
#include "gui/main_window.h"
#include "widgets/config_form.h"
#include "widgets/download_dialog.h"

using namespace attnlab;
namespace fs = std::filesystem;

class DownloadTest : public QObject {
  Q_OBJECT
  hubtest::FakeHub* hub_ = nullptr;
  QThread thread_;
  fs::path tmp_;

  static QByteArray bytes(const fs::path& p) { return QByteArray::fromStdString(read_text_file(p)); }

 private Q_SLOTS:
  void initTestCase() {
    tmp_ = testing::temp_dir("gui-download");
    Gpt2Config c;
    c.vocab_size = 300;
    c.n_positions = 32;
    c.n_embd = 32;
    c.n_layer = 2;
    c.n_head = 4;
    save_gpt2(random_gpt2(c, 3), tmp_ / "src");
    hub_ = new hubtest::FakeHub;
    hubtest::Repo r;
    r.commit = "89abcdef0123456789abcdef0123456789abcdef";
    for (const char* f : {"config.json", "model.safetensors"}) r.files[f] = bytes(tmp_ / "src" / f);
    r.lfs = {"model.safetensors"};
    hub_->repos["models/org/tiny"] = r;
    hub_->repos["models/org/tiny2"] = r;
    hub_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, hub_, &QObject::deleteLater);
    thread_.start();
    QMetaObject::invokeMethod(hub_, "start", Qt::BlockingQueuedConnection);
    QVERIFY(hub_->port != 0);
    qputenv("HF_ENDPOINT", QByteArray("http://127.0.0.1:") + QByteArray::number(hub_->port));
    qputenv("HF_HUB_CACHE", QByteArray::fromStdString((tmp_ / "hf").string()));
    qputenv("ATTNLAB_DATA_DIR", QByteArray::fromStdString((tmp_ / "data").string()));
    qunsetenv("HF_HUB_OFFLINE");
    qunsetenv("HF_TOKEN");
  }
  void cleanupTestCase() {
    QMetaObject::invokeMethod(hub_, "stop", Qt::BlockingQueuedConnection);
    thread_.quit();
    thread_.wait();
    for (const char* k : {"HF_ENDPOINT", "HF_HUB_CACHE", "ATTNLAB_DATA_DIR"}) qunsetenv(k);
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  void dialogValidatesTheName() {
    DownloadDialog d;
    QSignalSpy spy(&d, &DownloadDialog::downloadRequested);
    d.setRequest(DownloadDialog::Kind::Model, QStringLiteral("../etc/passwd"));
    d.requestDownload();
    QCOMPARE(spy.count(), 0);
    QVERIFY2(d.statusText().contains(QStringLiteral("expected a repository id")), qPrintable(d.statusText()));
    d.setRequest(DownloadDialog::Kind::Dataset, QStringLiteral("wikitext-103-raw-v1"));
    d.requestDownload();
    QCOMPARE(spy.count(), 1);
    QVERIFY(d.busy());
    QSignalSpy cancel(&d, &DownloadDialog::cancelRequested);
    d.reject();  // closing while busy cancels first
    QCOMPARE(cancel.count(), 1);
    d.setFailed(QStringLiteral("cancelled"));
    QVERIFY(!d.busy());
  }

  void downloadSelectsTheModelAndListsIt() {
    MainWindow w(/*persistSettings=*/false);
    DownloadDialog* d = w.downloadDialog();
    QSignalSpy done(d, &DownloadDialog::downloaded);
    d->setRequest(DownloadDialog::Kind::Model, QStringLiteral("org/tiny"));
    d->requestDownload();
    QTRY_VERIFY_WITH_TIMEOUT(!d->busy(), 60000);
    QVERIFY2(d->statusText().startsWith(QStringLiteral("Done")), qPrintable(d->statusText()));
    QCOMPARE(done.count(), 1);
    const QString snap = done.at(0).at(1).toString();
    QVERIFY2(snap.contains(QStringLiteral("models--org--tiny/snapshots/89abcdef")), qPrintable(snap));
    QCOMPARE(d->progressValue(), 1000);
    // The Setup form now uses it, and the refreshed picker offers it from the HF cache.
    QCOMPARE(w.configForm()->config().value(QStringLiteral("model")).toString(), snap);
    auto* picker = qobject_cast<QComboBox*>(w.configForm()->editor(QStringLiteral("model")));
    QVERIFY(picker);
    QTRY_VERIFY_WITH_TIMEOUT(picker->findData(snap) > 0, 10000);
    QVERIFY2(picker->itemText(picker->findData(snap)).contains(QStringLiteral("org/tiny")),
             qPrintable(picker->itemText(picker->findData(snap))));
    // It is a loadable GPT-2.
    auto m = load_gpt2(snap.toStdString());
    QCOMPARE(m->cfg.n_layer, int64_t(2));
  }

  void missingRepositoryFailsWithAMessage() {
    MainWindow w(false);
    DownloadDialog* d = w.downloadDialog();
    d->setRequest(DownloadDialog::Kind::Model, QStringLiteral("org/missing"));
    d->requestDownload();
    QTRY_VERIFY_WITH_TIMEOUT(!d->busy(), 60000);
    QVERIFY2(d->statusText().contains(QStringLiteral("org/missing")), qPrintable(d->statusText()));
    QVERIFY2(d->statusText().contains(QStringLiteral("not found"), Qt::CaseInsensitive), qPrintable(d->statusText()));
  }

  void cancelledDownloadSaysSo() {
    HubService s;
    QSignalSpy failed(&s, &HubService::failed);
    s.download(QStringLiteral("model"), QStringLiteral("org/tiny2"));
    s.cancel();  // microseconds later: the engine aborts its first loopback request
    QTRY_VERIFY_WITH_TIMEOUT(!s.busy(), 60000);
    QCOMPARE(failed.count(), 1);
    QVERIFY2(failed.at(0).at(0).toString().contains(QStringLiteral("ancel")), qPrintable(failed.at(0).at(0).toString()));
  }
};

ATTNLAB_TEST(DownloadTest, "download")
#include "test_download.moc"
