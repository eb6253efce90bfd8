// A loopback imitation of the Hugging Face Hub endpoints AttnLab's client uses (engine hub
// tests and the GUI download test). Nothing here touches the network beyond 127.0.0.1.
#pragma once
#include <QHash>
#include <QMap>
#include <QMutex>
#include <QSet>
#include <QUrl>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <nlohmann/json.hpp>

#include "hub/digest.h"

namespace attnlab {
namespace hub {}
}  // namespace attnlab

namespace hubtest {
namespace hub = attnlab::hub;


using Hdr = QPair<QByteArray, QByteArray>;

struct Repo {
  QString commit;
  QMap<QString, QByteArray> files;
  QSet<QString> lfs;  // served through a redirect to /cdn/<sha256>
  bool gated = false;  // file requests need "Authorization: Bearer secret"
};

// Imitates the Hub endpoints the client uses: the revision API, HEAD/GET resolve (LFS files
// answer 302 + X-Linked-Etag/X-Linked-Size to a CDN URL), and the CDN with Range support.
class FakeHub : public QObject {
  Q_OBJECT
 public:
  QMutex mu;
  QMap<QString, Repo> repos;  // "models/<id>" or "datasets/<id>"
  QStringList log;            // "METHOD path [range]"
  int drop_next = 0;          // CDN GETs still to cut off halfway
  bool corrupt = false;       // CDN serves one flipped byte
  quint16 port = 0;

 public slots:
  void start() {
    server_ = new QTcpServer(this);
    connect(server_, &QTcpServer::newConnection, this, &FakeHub::on_connection);
    server_->listen(QHostAddress::LocalHost, 0);
    port = server_->serverPort();
  }
  void stop() {
    delete server_;
    server_ = nullptr;
  }

 private:
  void on_connection() {
    while (QTcpSocket* s = server_->nextPendingConnection()) {
      connect(s, &QTcpSocket::readyRead, this, [this, s] { on_read(s); });
      connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
    }
  }

  static void reply(QTcpSocket* s, int status, const QByteArray& reason, QList<QPair<QByteArray, QByteArray>> headers,
                    const QByteArray& body, bool head, qint64 content_length = -1, qint64 send = -1) {
    QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + " " + reason + "\r\n";
    headers.append(Hdr{"Content-Length", QByteArray::number(content_length >= 0 ? content_length : body.size())});
    headers.append(Hdr{"Connection", "close"});
    for (auto& [k, v] : headers) out += k + ": " + v + "\r\n";
    out += "\r\n";
    if (!head) out += send >= 0 ? body.left(send) : body;
    s->write(out);
    s->disconnectFromHost();  // flushes, then closes
  }

  void on_read(QTcpSocket* s) {
    QByteArray& buf = buffers_[s];
    buf += s->readAll();
    int end = buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    QList<QByteArray> lines = buf.left(end).split('\n');
    buffers_.remove(s);
    QList<QByteArray> first = lines.value(0).trimmed().split(' ');
    QByteArray method = first.value(0), target = first.value(1);
    QMap<QByteArray, QByteArray> hdr;
    for (int i = 1; i < lines.size(); ++i) {
      int c = lines[i].indexOf(':');
      if (c > 0) hdr[lines[i].left(c).trimmed().toLower()] = lines[i].mid(c + 1).trimmed();
    }
    const bool head = method == "HEAD";
    QString path = QUrl::fromPercentEncoding(target);
    QMutexLocker lock(&mu);
    log << QString("%1 %2 %3").arg(QString(method), path, QString(hdr.value("range")));
    const QByteArray base = "http://127.0.0.1:" + QByteArray::number(port);

    if (path.startsWith("/api/")) {  // /api/{models|datasets}/{repo}/revision/{rev}
      QString rest = path.mid(5);
      int slash = rest.indexOf('/');
      QString key = rest.left(slash) + "/" + rest.mid(slash + 1).section("/revision/", 0, 0);
      if (!repos.contains(key))
        return reply(s, 404, "Not Found", {{"X-Error-Code", "RepoNotFound"}, {"X-Error-Message", "Repository not found"}},
                     "{\"error\":\"Repository not found\"}", head);
      const Repo& r = repos[key];
      nlohmann::json j = {{"id", key.section('/', 1).toStdString()}, {"sha", r.commit.toStdString()}};
      j["siblings"] = nlohmann::json::array();
      for (auto it = r.files.begin(); it != r.files.end(); ++it) j["siblings"].push_back({{"rfilename", it.key().toStdString()}});
      return reply(s, 200, "OK", {{"Content-Type", "application/json"}}, QByteArray::fromStdString(j.dump()), head);
    }
    if (path.startsWith("/cdn/")) {
      QString sha = path.mid(5);
      QByteArray data;
      for (auto& r : repos)
        for (auto& f : r.lfs)
          if (QString::fromStdString(hub::sha256_hex(r.files[f].toStdString())) == sha) data = r.files[f];
      if (data.isEmpty()) return reply(s, 404, "Not Found", {}, "no such blob", head);
      if (corrupt) data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x5a);
      qint64 from = 0;
      QByteArray range = hdr.value("range");
      if (range.startsWith("bytes=")) from = range.mid(6, range.indexOf('-') - 6).toLongLong();
      QByteArray body = data.mid(from);
      QList<QPair<QByteArray, QByteArray>> h = {{"Accept-Ranges", "bytes"}};
      if (from > 0)
        h.append(Hdr{"Content-Range", "bytes " + QByteArray::number(from) + "-" + QByteArray::number(data.size() - 1) +
                                       "/" + QByteArray::number(data.size())});
      qint64 send = -1;
      if (!head && drop_next > 0) {
        --drop_next;
        send = body.size() / 2;
      }
      return reply(s, from > 0 ? 206 : 200, from > 0 ? "Partial Content" : "OK", h, body, head, body.size(), send);
    }
    int res = path.indexOf("/resolve/");
    if (res > 0) {  // /[datasets/]{repo}/resolve/{rev}/{file}
      QString repo = path.mid(1, res - 1);
      QString key = repo.startsWith("datasets/") ? repo : "models/" + repo;
      QString rest = path.mid(res + 9);
      QString rev = rest.section('/', 0, 0), file = rest.section('/', 1);
      if (!repos.contains(key))
        return reply(s, 404, "Not Found", {{"X-Error-Code", "RepoNotFound"}}, "Repository not found", head);
      const Repo& r = repos[key];
      if (r.gated && hdr.value("authorization") != "Bearer secret")
        return reply(s, 401, "Unauthorized",
                     {{"X-Error-Code", "GatedRepo"}, {"X-Error-Message", "Access to this model is restricted"}},
                     "gated", head);
      if (rev != r.commit && rev != "main") return reply(s, 404, "Not Found", {{"X-Error-Code", "RevisionNotFound"}}, "", head);
      if (!r.files.contains(file)) return reply(s, 404, "Not Found", {{"X-Error-Code", "EntryNotFound"}}, "", head);
      const QByteArray& data = r.files[file];
      QList<QPair<QByteArray, QByteArray>> h = {{"X-Repo-Commit", r.commit.toUtf8()}};
      if (r.lfs.contains(file)) {
        QByteArray sha = QByteArray::fromStdString(hub::sha256_hex(data.toStdString()));
        h.append(Hdr{"X-Linked-Etag", "\"" + sha + "\""});
        h.append(Hdr{"X-Linked-Size", QByteArray::number(data.size())});
        h.append(Hdr{"ETag", "W/\"deadbeef\""});
        h.append(Hdr{"Location", base + "/cdn/" + sha});
        return reply(s, 302, "Found", h, "", head);
      }
      h.append(Hdr{"ETag", "\"" + QByteArray::fromStdString(hub::git_blob_sha1_hex(data.toStdString())) + "\""});
      return reply(s, 200, "OK", h, data, head);
    }
    reply(s, 404, "Not Found", {}, "", head);
  }

  QTcpServer* server_ = nullptr;
  QHash<QTcpSocket*, QByteArray> buffers_;
};

}  // namespace hubtest
