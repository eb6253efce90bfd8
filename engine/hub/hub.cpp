#include "hub/hub.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/fs.h"
#include "hub/digest.h"
#include "hub/parquet.h"

#ifdef ATTNLAB_HAVE_CURL
#include <curl/curl.h>
#endif

namespace attnlab::hub {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

fs::path home_dir() {
  std::string h = env("HOME");
  return h.empty() ? fs::temp_directory_path() : fs::path(h);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_hex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

bool safe_token(const std::string& s) {  // etags and commits become file names
  return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// huggingface_hub's validate_repo_id: [ORG/]NAME of [\w-.], no "--" or "..", <= 96 chars.
void validate_repo_id(const std::string& id) {
  auto bad = [&] {
    throw Error("invalid repository id '" + id + "' (expected NAME or ORG/NAME of letters, digits, '-', '_', '.')");
  };
  if (id.empty() || id.size() > 96 || id.find("--") != std::string::npos || id.find("..") != std::string::npos) bad();
  size_t slash = id.find('/');
  if (slash != std::string::npos && (slash == 0 || slash + 1 == id.size() || id.find('/', slash + 1) != std::string::npos))
    bad();
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/')) bad();
  for (const std::string& part : {id.substr(0, slash == std::string::npos ? 0 : slash), id.substr(slash + 1)})
    if (!part.empty() && (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.'))
      bad();
}

// A repository file name must stay inside the snapshot folder.
void validate_repo_file(const std::string& f, const std::string& repo_id) {
  bool ok = !f.empty() && f.front() != '/' && f.find('\\') == std::string::npos && f.find('\0') == std::string::npos;
  if (ok) {
    for (const auto& part : fs::path(f))
      if (part == ".." || part == "." || part.empty()) ok = false;
  }
  if (!ok) throw Error("repository '" + repo_id + "' lists an unsafe file name '" + f + "'");
}

std::string normalize_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

// RFC 3986 percent-encoding; '/' kept when keep_slash (file paths).
std::string url_quote(const std::string& s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// scheme://host[:port] of a URL (lower-cased), "" if it has none.
std::string url_origin(const std::string& url) {
  auto p = url.find("://");
  if (p == std::string::npos) return "";
  auto e = url.find_first_of("/?#", p + 3);
  return lower(url.substr(0, e));
}

std::string url_host(const std::string& url) {
  auto p = url.find("://");
  if (p == std::string::npos) return "";
  std::string auth = url.substr(p + 3, url.find_first_of("/?#", p + 3) - (p + 3));
  auto at = auth.rfind('@');
  if (at != std::string::npos) auth = auth.substr(at + 1);
  if (!auth.empty() && auth.front() == '[') return lower(auth.substr(0, auth.find(']') + 1));
  return lower(auth.substr(0, auth.find(':')));
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "[::1]") return true;
  // 127.a.b.c, all four decimal octets
  int parts = 0;
  size_t i = 0;
  std::vector<int> oct;
  while (i <= host.size()) {
    size_t j = host.find('.', i);
    if (j == std::string::npos) j = host.size();
    std::string o = host.substr(i, j - i);
    if (o.empty() || o.size() > 3 || !std::all_of(o.begin(), o.end(), ::isdigit)) return false;
    oct.push_back(std::stoi(o));
    ++parts;
    i = j + 1;
  }
  return parts == 4 && oct[0] == 127 && std::all_of(oct.begin(), oct.end(), [](int v) { return v <= 255; });
}

const char* type_plural(RepoType t) { return t == RepoType::Model ? "models" : "datasets"; }
const char* type_word(RepoType t) { return t == RepoType::Model ? "model" : "dataset"; }

// The URL prefix of a repository's files: models have none, datasets "datasets/".
std::string repo_url_path(const std::string& repo_id, RepoType t) {
  return (t == RepoType::Dataset ? "datasets/" : "") + repo_id;
}

int64_t dir_size(const fs::path& d, bool follow) {
  int64_t n = 0;
  std::error_code ec;
  auto opts = follow ? fs::directory_options::follow_directory_symlink : fs::directory_options::none;
  for (fs::recursive_directory_iterator it(d, opts, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    bool reg = follow ? fs::is_regular_file(it->path(), e2) : it->is_regular_file(e2);
    if (reg) {
      auto s = fs::file_size(it->path(), e2);
      if (!e2) n += static_cast<int64_t>(s);
    }
  }
  return n;
}

bool has_weights(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "model.safetensors", ec) || fs::exists(dir / "model.safetensors.index.json", ec);
}

// Legacy GPT-2 names and their current ids (the Hub serves both; huggingface_hub caches under
// the id requested). Used to find a model offline under either name.
std::vector<std::string> aliases(const std::string& id) {
  static const std::vector<std::pair<std::string, std::string>> k = {
      {"gpt2", "openai-community/gpt2"},
      {"gpt2-medium", "openai-community/gpt2-medium"},
      {"gpt2-large", "openai-community/gpt2-large"},
      {"gpt2-xl", "openai-community/gpt2-xl"},
      {"distilgpt2", "distilbert/distilgpt2"}};
  std::vector<std::string> out = {id};
  for (auto& [legacy, now] : k) {
    if (id == legacy) out.push_back(now);
    if (id == now) out.push_back(legacy);
  }
  return out;
}

class FileLock {
 public:
  FileLock(const fs::path& p, const std::atomic<bool>* cancel) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;  // read-only cache dir etc.: proceed unlocked, the rename stays atomic
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) break;
      if (cancel && cancel->load()) {
        ::close(fd_);
        fd_ = -1;
        throw DownloadCancelled("download cancelled while waiting for another download of the same file");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~FileLock() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

// ---- HubCache --------------------------------------------------------------------------------

HubCache::HubCache() : HubCache(default_root()) {}
HubCache::HubCache(fs::path root) : root_(fs::absolute(root.empty() ? default_root() : root)) {}

fs::path HubCache::default_root() {
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HF_HOME"); !v.empty()) return fs::path(v) / "hub";
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "huggingface" / "hub";
  return home_dir() / ".cache" / "huggingface" / "hub";
}

std::string HubCache::repo_folder_name(const std::string& repo_id, RepoType type) {
  std::string out = type_plural(type);
  out += "--";
  for (char c : repo_id) {
    if (c == '/') out += "--";
    else out.push_back(c);
  }
  return out;
}

fs::path HubCache::repo_dir(const std::string& repo_id, RepoType type) const {
  validate_repo_id(repo_id);
  return root_ / repo_folder_name(repo_id, type);
}
fs::path HubCache::blob_path(const std::string& repo_id, RepoType type, const std::string& etag) const {
  if (!safe_token(etag)) throw Error("unusable ETag '" + etag + "' for repository '" + repo_id + "'");
  return repo_dir(repo_id, type) / "blobs" / etag;
}
fs::path HubCache::snapshot_dir(const std::string& repo_id, RepoType type, const std::string& commit) const {
  if (!safe_token(commit)) throw Error("unusable commit '" + commit + "' for repository '" + repo_id + "'");
  return repo_dir(repo_id, type) / "snapshots" / commit;
}
fs::path HubCache::lock_path(const std::string& repo_id, RepoType type, const std::string& etag) const {
  return root_ / ".locks" / repo_folder_name(repo_id, type) / (etag + ".lock");
}

std::optional<std::string> HubCache::read_ref(const std::string& repo_id, RepoType type,
                                              const std::string& revision) const {
  if (revision.empty() || revision.find("..") != std::string::npos) return std::nullopt;
  fs::path p = repo_dir(repo_id, type) / "refs" / revision;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  std::string s = read_text_file(p);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (!safe_token(s)) return std::nullopt;
  return s;
}

void HubCache::write_ref(const std::string& repo_id, RepoType type, const std::string& revision,
                         const std::string& commit) const {
  if (revision == commit) return;
  if (revision.empty() || revision.find("..") != std::string::npos || revision.front() == '/')
    throw Error("invalid revision '" + revision + "'");
  write_file_atomic(repo_dir(repo_id, type) / "refs" / revision, commit);
}

std::optional<fs::path> HubCache::resolve_snapshot(const std::string& repo_id, RepoType type,
                                                   const std::string& revision) const {
  std::error_code ec;
  std::string commit;
  if (auto r = read_ref(repo_id, type, revision)) commit = *r;
  else if (safe_token(revision) && revision.size() == 40) commit = revision;
  else return std::nullopt;
  fs::path d = snapshot_dir(repo_id, type, commit);
  if (!fs::is_directory(d, ec)) return std::nullopt;
  return d;
}

fs::path HubCache::link_snapshot_file(const std::string& repo_id, RepoType type, const std::string& commit,
                                      const std::string& file, const std::string& etag) const {
  validate_repo_file(file, repo_id);
  fs::path blob = blob_path(repo_id, type, etag);
  fs::path link = snapshot_dir(repo_id, type, commit) / file;
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (ec) throw Error("cannot create '" + link.parent_path().string() + "': " + ec.message());
  fs::remove(link, ec);
  fs::path rel = blob.lexically_relative(link.parent_path());  // ../../blobs/<etag>
  fs::create_symlink(rel, link, ec);
  if (ec) {  // no symlinks here (some network filesystems): copy like huggingface_hub does
    fs::copy_file(blob, link, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error("cannot create '" + link.string() + "': " + ec.message());
  }
  return link;
}

// ---- settings ------------------------------------------------------------------------------------

bool hub_offline() {
  std::string v = lower(env("HF_HUB_OFFLINE"));
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::string default_endpoint() {
  std::string e = env("HF_ENDPOINT");
  if (e.empty()) e = "https://huggingface.co";
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

void check_url_allowed(const std::string& url) {
  std::string l = lower(url);
  if (l.rfind("https://", 0) == 0 && !url_host(url).empty()) return;
  if (l.rfind("http://", 0) == 0) {
    std::string host = url_host(url);
    if (is_loopback_host(host)) return;
    throw Error("refusing the insecure URL '" + url +
                "': only https:// is allowed (http:// only for loopback hosts such as 127.0.0.1)");
  }
  throw Error("unsupported URL '" + url + "': expected https://");
}

bool RepoInfo::has(const std::string& name) const {
  return std::any_of(files.begin(), files.end(), [&](const RepoFile& f) { return f.name == name; });
}

fs::path default_data_dir() {
  if (auto v = env("ATTNLAB_DATA_DIR"); !v.empty()) return v;
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "attnlab" / "data";
  return home_dir() / ".cache" / "attnlab" / "data";
}

// ---- HTTP ------------------------------------------------------------------------------------

namespace {

struct Ctx {
  std::string repo_id;
  RepoType type = RepoType::Model;
  std::string endpoint;
  std::string token;
  const HubOptions* opts = nullptr;
  const std::atomic<bool>* cancel = nullptr;
};

Ctx make_ctx(const std::string& repo_id, RepoType type, const HubOptions& opts, const std::atomic<bool>* cancel) {
  validate_repo_id(repo_id);
  Ctx c;
  c.repo_id = repo_id;
  c.type = type;
  c.endpoint = opts.endpoint.empty() ? default_endpoint() : opts.endpoint;
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  check_url_allowed(c.endpoint);
  c.token = opts.token;
  if (c.token.empty()) c.token = env("HF_TOKEN");
  if (c.token.empty()) c.token = env("HUGGING_FACE_HUB_TOKEN");
  c.opts = &opts;
  c.cancel = cancel;
  return c;
}

struct Response {
  int curl_code = 0;  // CURLcode; 0 = the transfer completed
  std::string curl_error;
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, final response of the hop
  std::string body;                            // non-2xx bodies, or all when no sink
  std::string redirect_url;
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "" : it->second;
  }
};

[[noreturn]] void throw_http(const Response& r, const Ctx& c, const std::string& url, const std::string& file,
                             const std::string& revision) {
  std::string code = r.header("x-error-code");
  std::string msg = r.header("x-error-message");
  std::string where = " on " + c.endpoint;
  std::string what = std::string(type_word(c.type)) + " repository '" + c.repo_id + "'";
  if (code == "GatedRepo" || ((r.status == 401 || r.status == 403) && code != "RepoNotFound"))
    throw Error(what + " is gated or private: accept its licence on the Hub and set HF_TOKEN" +
                (c.token.empty() ? "" : " (the token given was refused)") + " [HTTP " + std::to_string(r.status) +
                " from " + url + "]");
  if (code == "RepoNotFound" || (r.status == 404 && file.empty() && code.empty()))
    throw Error("repository '" + c.repo_id + "' not found" + where +
                (c.token.empty() ? " (if it is private, set HF_TOKEN)" : "") + " [HTTP " + std::to_string(r.status) +
                " from " + url + "]");
  if (code == "RevisionNotFound")
    throw Error("revision '" + revision + "' not found in repository '" + c.repo_id + "'" + where);
  if (code == "EntryNotFound" || r.status == 404)
    throw Error("file '" + file + "' not found in repository '" + c.repo_id + "' at revision '" + revision + "'" +
                where + " [HTTP " + std::to_string(r.status) + " from " + url + "]");
  if (r.status == 429) throw Error("rate limited by " + c.endpoint + " (HTTP 429 from " + url + "); try again later");
  throw Error("HTTP " + std::to_string(r.status) + " from " + url + (msg.empty() ? "" : ": " + msg));
}

#ifdef ATTNLAB_HAVE_CURL

struct Transfer {
  Response* r = nullptr;
  std::function<bool(const char*, size_t)> sink;  // 2xx bodies; false = abort (write error)
  std::function<void(int64_t now, int64_t total)> progress;
  const std::atomic<bool>* cancel = nullptr;
};

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string line(p, size * n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (e.g. after 100 Continue)
    t->r->headers.clear();
    auto sp = line.find(' ');
    t->r->status = sp == std::string::npos ? 0 : std::atol(line.c_str() + sp + 1);
  } else if (auto colon = line.find(':'); colon != std::string::npos) {
    std::string v = line.substr(colon + 1);
    size_t b = v.find_first_not_of(" \t");
    v = b == std::string::npos ? "" : v.substr(b);
    t->r->headers[lower(line.substr(0, colon))] = v;
  }
  return size * n;
}

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t bytes = size * n;
  if (t->sink && t->r->status >= 200 && t->r->status < 300) return t->sink(p, bytes) ? bytes : 0;
  if (t->r->body.size() < (64u << 20)) t->r->body.append(p, bytes);
  return bytes;
}

int on_progress(void* ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(ud);
  if (t->cancel && t->cancel->load()) return 1;
  if (t->progress && t->r->status >= 200 && t->r->status < 300) t->progress(dlnow, dltotal);
  return 0;
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One request, no redirects followed.
Response perform(const Ctx& c, const std::string& method, const std::string& url,
                 const std::vector<std::string>& extra_headers, Transfer& t) {
  curl_init_once();
  check_url_allowed(url);
  Response r;
  t.r = &r;
  t.cancel = c.cancel;
  CURL* h = curl_easy_init();
  if (!h) throw Error("cannot initialise libcurl");
  char err[CURL_ERROR_SIZE] = {0};
  struct curl_slist* hdrs = nullptr;
  for (auto& x : extra_headers) hdrs = curl_slist_append(hdrs, x.c_str());
  // The token goes only to the endpoint itself, never to a CDN it redirects to.
  if (!c.token.empty() && url_origin(url) == url_origin(c.endpoint))
    hdrs = curl_slist_append(hdrs, ("Authorization: Bearer " + c.token).c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_USERAGENT, "attnlab/0.1 (libcurl)");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c.opts->connect_timeout_s);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c.opts->stall_timeout_s);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  if (method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  CURLcode rc = curl_easy_perform(h);
  r.curl_code = static_cast<int>(rc);
  if (rc != CURLE_OK) r.curl_error = err[0] ? std::string(err) : curl_easy_strerror(rc);
  long st = 0;
  if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st) == CURLE_OK && st) r.status = st;
  char* loc = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) r.redirect_url = loc;
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  if (rc == CURLE_ABORTED_BY_CALLBACK && c.cancel && c.cancel->load())
    throw DownloadCancelled("download cancelled (" + url + ")");
  return r;
}

bool is_redirect(long s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

// Follows redirects (each target checked by check_url_allowed); with relative_only, stops at
// the first redirect to another host and returns it (what the Hub's LFS files do).
Response request(const Ctx& c, const std::string& method, std::string url, const std::vector<std::string>& extra,
                 Transfer& t, bool relative_only, std::string* final_url = nullptr) {
  for (int hop = 0; hop < 10; ++hop) {
    Response r = perform(c, method, url, extra, t);
    if (r.curl_code != 0 || !is_redirect(r.status) || r.redirect_url.empty()) {
      if (final_url) *final_url = url;
      return r;
    }
    std::string loc = r.header("location");
    bool relative = !loc.empty() && loc.front() == '/' && (loc.size() < 2 || loc[1] != '/');
    if (relative_only && !relative) {
      if (final_url) *final_url = url;
      return r;
    }
    url = r.redirect_url;
  }
  throw Error("too many redirects fetching " + url);
}

[[noreturn]] void throw_network(const Response& r, const std::string& url, const std::string& hint = "") {
  throw Error("network error fetching " + url + ": " + r.curl_error + " (curl error " + std::to_string(r.curl_code) +
              ")" + hint);
}

std::string offline_hint(const Ctx& c) {
  if (c.type != RepoType::Model) return "";
  HubCache cache(c.opts->cache_dir);
  for (auto& id : aliases(c.repo_id))
    if (auto d = cache.resolve_snapshot(id, RepoType::Model, c.opts->revision); d && has_weights(*d))
      return "; the model is in the cache: set HF_HUB_OFFLINE=1 to use it without the network";
  return "";
}

struct FileMeta {
  std::string etag, commit, download_url;
  int64_t size = -1;
  bool lfs = false;
};

// HEAD {endpoint}/{repo}/resolve/{commit}/{file}, as huggingface_hub's get_hf_file_metadata.
FileMeta head_file(const Ctx& c, const std::string& commit, const std::string& file, const std::string& revision) {
  std::string url = c.endpoint + "/" + repo_url_path(c.repo_id, c.type) + "/resolve/" + url_quote(commit, false) +
                    "/" + url_quote(file, true);
  Transfer t;
  std::string final_url;
  Response r;
  for (int attempt = 0;; ++attempt) {
    r = request(c, "HEAD", url, {"Accept-Encoding: identity"}, t, true, &final_url);
    bool transient = r.curl_code != 0 || r.status >= 500;
    if (!transient || attempt >= c.opts->max_retries) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(c.opts->retry_backoff_ms << std::min(attempt, 6)));
  }
  if (r.curl_code != 0) throw_network(r, url, offline_hint(c));
  FileMeta m;
  if (is_redirect(r.status)) {
    m.download_url = r.redirect_url;
  } else if (r.status >= 200 && r.status < 300) {
    m.download_url = final_url;
  } else {
    throw_http(r, c, url, file, revision);
  }
  m.commit = r.header("x-repo-commit");
  std::string linked = r.header("x-linked-etag");
  m.lfs = !linked.empty();
  m.etag = normalize_etag(m.lfs ? linked : r.header("etag"));
  std::string sz = r.header("x-linked-size");
  if (sz.empty() && !is_redirect(r.status)) sz = r.header("content-length");
  if (!sz.empty()) m.size = std::atoll(sz.c_str());
  if (m.etag.empty())
    throw Error("the server sent no ETag for '" + file + "' (" + url + "); is " + c.endpoint + " a Hugging Face Hub?");
  if (!safe_token(m.etag)) throw Error("the server sent an unusable ETag '" + m.etag + "' for " + url);
  return m;
}

int64_t file_size_or0(const fs::path& p) {
  std::error_code ec;
  auto s = fs::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(s);
}

// Downloads into <blob>.incomplete (resuming it), verifies, renames to <blob>.
void fetch_blob(const Ctx& c, const FileMeta& m, const fs::path& blob, const std::string& file,
                const ProgressFn& progress) {
  const fs::path part = blob.string() + ".incomplete";
  const bool sha256 = is_hex(m.etag, 64);
  const bool gitsha = !m.lfs && is_hex(m.etag, 40);
  std::error_code ec;
  fs::create_directories(blob.parent_path(), ec);
  if (ec) throw Error("cannot create '" + blob.parent_path().string() + "': " + ec.message());
  Sha256 hash;
  for (int attempt = 0;; ++attempt) {
    int64_t have = file_size_or0(part);
    if (m.size >= 0 && have > m.size) {
      fs::remove(part, ec);
      have = 0;
    }
    hash.reset();
    if (sha256 && have > 0) hash_file(part, hash, have);
    if (m.size >= 0 && have == m.size) break;  // complete already (e.g. cancelled at the very end)

    int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("cannot write '" + part.string() + "': " + std::strerror(errno));
    int64_t written = have;
    bool first = true;
    int write_errno = 0;
    Transfer t;
    t.sink = [&](const char* p, size_t n) {
      if (first) {
        first = false;
        if (have > 0 && t.r->status == 200) {  // the server ignored Range: start over
          if (::ftruncate(fd, 0) != 0) {
            write_errno = errno;
            return false;
          }
          hash.reset();
          have = written = 0;
        }
      }
      const char* data = p;
      size_t left = n;
      while (left > 0) {
        ssize_t w = ::write(fd, p, left);
        if (w < 0) {
          if (errno == EINTR) continue;
          write_errno = errno;
          return false;
        }
        p += w;
        left -= static_cast<size_t>(w);
      }
      if (sha256) hash.update(data, n);
      written += static_cast<int64_t>(n);
      return true;
    };
    if (progress) {
      t.progress = [&](int64_t, int64_t total) {
        int64_t tot = m.size >= 0 ? m.size : (total > 0 ? have + total : -1);
        progress(written, tot, file);
      };
    }
    std::vector<std::string> hdrs = {"Accept-Encoding: identity"};
    if (have > 0) hdrs.push_back("Range: bytes=" + std::to_string(have) + "-");
    Response r;
    try {
      r = request(c, "GET", m.download_url, hdrs, t, false);
    } catch (...) {
      ::close(fd);
      throw;
    }
    bool sync_ok = ::fsync(fd) == 0;
    ::close(fd);
    if (write_errno) throw Error("cannot write '" + part.string() + "': " + std::strerror(write_errno));
    if (!sync_ok) throw Error("cannot flush '" + part.string() + "': " + std::strerror(errno));
    bool retry = attempt < c.opts->max_retries;
    auto backoff = [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(c.opts->retry_backoff_ms << std::min(attempt, 6)));
    };
    if (r.curl_code != 0) {
      if (retry) {
        backoff();
        continue;
      }
      throw_network(r, m.download_url,
                    "; the partial download was kept and resumes when you run the download again");
    }
    if (r.status == 416 && have > 0) {  // range beyond the end: the part is complete or bogus
      if (m.size < 0) break;
      fs::remove(part, ec);
      if (retry) continue;
    }
    if (r.status < 200 || r.status >= 300) {
      if (r.status >= 500 && retry) {
        backoff();
        continue;
      }
      throw_http(r, c, m.download_url, file, c.opts->revision);
    }
    if (m.size >= 0 && written < m.size) {  // connection closed early without an error
      if (retry) {
        backoff();
        continue;
      }
      throw Error("download of " + m.download_url + " stopped at " + std::to_string(written) + " of " +
                  std::to_string(m.size) + " bytes; run the download again to resume");
    }
    break;
  }

  // Verification: a mismatch deletes the partial file, so no corrupt blob is ever cached.
  auto reject = [&](const std::string& why) {
    std::error_code e2;
    fs::remove(part, e2);
    throw Error("checksum mismatch for '" + file + "' of repository '" + c.repo_id + "' (downloaded from " +
                m.download_url + "): " + why + "; the download was deleted, try again");
  };
  int64_t got = file_size_or0(part);
  if (m.size >= 0 && got != m.size)
    reject("expected " + std::to_string(m.size) + " bytes, got " + std::to_string(got));
  if (sha256) {
    std::string h = hash.hex();
    if (h != lower(m.etag)) reject("expected sha256 " + lower(m.etag) + ", got " + h);
  } else if (gitsha) {
    std::string h = git_blob_sha1_file_hex(part);
    if (h != lower(m.etag)) reject("expected git blob sha1 " + lower(m.etag) + ", got " + h);
  }
  ::chmod(part.c_str(), 0644);
  fs::rename(part, blob, ec);
  if (ec) throw Error("cannot rename '" + part.string() + "' to '" + blob.string() + "': " + ec.message());
  if (progress) progress(got, got, file);
}

#endif  // ATTNLAB_HAVE_CURL

[[noreturn]] void no_curl() {
  throw Error("this build of AttnLab has no libcurl, so it cannot download from the Hugging Face Hub; "
              "install libcurl (libcurl4-openssl-dev) and rebuild, or download with huggingface-cli and "
              "set HF_HUB_OFFLINE=1");
}

}  // namespace

// ---- repository downloads ---------------------------------------------------------------------

RepoInfo fetch_repo_info(const std::string& repo_id, RepoType type, const HubOptions& opts) {
  Ctx c = make_ctx(repo_id, type, opts, nullptr);
  if (opts.offline || hub_offline())
    throw Error("cannot list repository '" + repo_id + "': offline mode (HF_HUB_OFFLINE) is on");
#ifdef ATTNLAB_HAVE_CURL
  std::string url = c.endpoint + "/api/" + type_plural(type) + "/" + repo_id + "/revision/" +
                    url_quote(opts.revision, false);
  Transfer t;
  Response r;
  for (int attempt = 0;; ++attempt) {
    r = request(c, "GET", url, {"Accept: application/json"}, t, false);
    bool transient = r.curl_code != 0 || r.status >= 500;
    if (!transient || attempt >= opts.max_retries) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(opts.retry_backoff_ms << std::min(attempt, 6)));
  }
  if (r.curl_code != 0) throw_network(r, url, offline_hint(c));
  if (r.status < 200 || r.status >= 300) throw_http(r, c, url, "", opts.revision);
  RepoInfo info;
  info.repo_id = repo_id;
  try {
    auto j = nlohmann::json::parse(r.body);
    info.commit = j.at("sha").get<std::string>();
    for (auto& s : j.value("siblings", nlohmann::json::array())) {
      RepoFile f;
      f.name = s.at("rfilename").get<std::string>();
      if (s.contains("size") && s["size"].is_number_integer()) f.size = s["size"].get<int64_t>();
      info.files.push_back(f);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("unexpected answer from " + url + " (expected JSON with \"sha\" and \"siblings\"): " + e.what());
  }
  if (!safe_token(info.commit)) throw Error("unexpected commit '" + info.commit + "' from " + url);
  return info;
#else
  (void)c;
  no_curl();
#endif
}

fs::path download_files(const RepoInfo& info, RepoType type, const std::vector<std::string>& files,
                        const HubOptions& opts, const ProgressFn& progress, const std::atomic<bool>* cancel) {
  Ctx c = make_ctx(info.repo_id, type, opts, cancel);
  HubCache cache(opts.cache_dir);
  fs::path snap = cache.snapshot_dir(info.repo_id, type, info.commit);
  for (auto& f : files) validate_repo_file(f, info.repo_id);
#ifdef ATTNLAB_HAVE_CURL
  for (const std::string& file : files) {
    if (cancel && cancel->load()) throw DownloadCancelled("download of '" + info.repo_id + "' cancelled");
    std::error_code ec;
    if (fs::exists(snap / file, ec)) continue;  // a commit's files never change
    FileMeta m = head_file(c, info.commit, file, opts.revision);
    fs::path blob = cache.blob_path(info.repo_id, type, m.etag);
    if (!fs::exists(blob, ec)) {
      FileLock lock(cache.lock_path(info.repo_id, type, m.etag), cancel);
      if (!fs::exists(blob, ec)) fetch_blob(c, m, blob, file, progress);
    }
    cache.link_snapshot_file(info.repo_id, type, info.commit, file, m.etag);
  }
  std::error_code ec;
  fs::create_directories(snap, ec);
  cache.write_ref(info.repo_id, type, opts.revision, info.commit);
  return snap;
#else
  (void)c, (void)progress;
  no_curl();
#endif
}

fs::path cached_model_dir(const std::string& repo_id, const std::string& revision, const fs::path& cache_dir) {
  validate_repo_id(repo_id);
  HubCache cache(cache_dir);
  for (auto& id : aliases(repo_id)) {
    auto d = cache.resolve_snapshot(id, RepoType::Model, revision);
    std::error_code ec;
    if (d && fs::exists(*d / "config.json", ec) && has_weights(*d)) return *d;
  }
  throw Error("model '" + repo_id + "' (revision '" + revision + "') is not in the Hugging Face cache at " +
              cache.root().string() +
              (hub_offline() ? " and HF_HUB_OFFLINE is set, so it cannot be downloaded; unset HF_HUB_OFFLINE and run "
                             : "; download it with ") +
              "`attnlab-cli download " + repo_id + "`");
}

fs::path download_model(const std::string& repo_id, const HubOptions& opts, const ProgressFn& progress,
                        const std::atomic<bool>* cancel) {
  validate_repo_id(repo_id);
  if (opts.offline || hub_offline()) return cached_model_dir(repo_id, opts.revision, opts.cache_dir);
  RepoInfo info = fetch_repo_info(repo_id, RepoType::Model, opts);
  if (!info.has("config.json"))
    throw Error("repository '" + repo_id + "' has no config.json: not a transformers model AttnLab can load");
  std::vector<std::string> files = {"config.json"};
  bool sharded = false;
  if (info.has("model.safetensors")) {
    files.push_back("model.safetensors");
  } else if (info.has("model.safetensors.index.json")) {
    files.push_back("model.safetensors.index.json");
    sharded = true;
  } else {
    std::string others;
    for (auto& f : info.files)
      if (f.name.find(".bin") != std::string::npos || f.name.find(".safetensors") != std::string::npos ||
          f.name.find(".h5") != std::string::npos || f.name.find(".msgpack") != std::string::npos)
        others += (others.empty() ? "" : ", ") + f.name;
    throw Error("repository '" + repo_id + "' has no safetensors weights (model.safetensors or "
                "model.safetensors.index.json)" + (others.empty() ? "" : "; it has " + others) +
                ". AttnLab loads only safetensors (pickled pytorch_model.bin can run code): convert it "
                "or pick a repository that ships safetensors");
  }
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    if (info.has(f)) files.push_back(f);
  fs::path snap = download_files(info, RepoType::Model, files, opts, progress, cancel);
  if (sharded) {
    std::vector<std::string> shards;
    try {
      auto j = nlohmann::json::parse(read_text_file(snap / "model.safetensors.index.json"));
      std::set<std::string> uniq;
      for (auto& [name, shard] : j.at("weight_map").items()) uniq.insert(shard.get<std::string>());
      shards.assign(uniq.begin(), uniq.end());
    } catch (const nlohmann::json::exception& e) {
      throw Error("repository '" + repo_id + "': unreadable model.safetensors.index.json: " + e.what());
    }
    for (auto& s : shards) {
      if (s.size() < 12 || s.compare(s.size() - 12, 12, ".safetensors") != 0)
        throw Error("repository '" + repo_id + "': shard '" + s + "' is not a .safetensors file");
      if (!info.has(s)) throw Error("repository '" + repo_id + "': shard '" + s + "' listed in the index is missing");
    }
    snap = download_files(info, RepoType::Model, shards, opts, progress, cancel);
  }
  return snap;
}

// ---- datasets -----------------------------------------------------------------------------------

fs::path download_dataset_wikitext(const std::string& name, const HubOptions& opts, const ProgressFn& progress,
                                   const std::atomic<bool>* cancel, const fs::path& data_dir) {
  static const std::string repo = "Salesforce/wikitext";
  if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos)
    throw Error("invalid WikiText configuration '" + name + "' (e.g. wikitext-2-raw-v1, wikitext-103-raw-v1)");
  fs::path out = (data_dir.empty() ? default_data_dir() : data_dir) / name;
  std::error_code ec;
  const std::vector<std::pair<std::string, std::string>> splits = {
      {"train", "train"}, {"validation", "valid"}, {"test", "test"}};

  HubCache cache(opts.cache_dir);
  std::string commit;
  std::vector<std::string> files;
  fs::path snap;
  if (opts.offline || hub_offline()) {
    auto d = cache.resolve_snapshot(repo, RepoType::Dataset, opts.revision);
    if (d && fs::is_directory(*d / name, ec)) {
      snap = *d;
      commit = snap.filename().string();
      for (auto& e : fs::directory_iterator(*d / name, ec))
        if (e.path().extension() == ".parquet") files.push_back(name + "/" + e.path().filename().string());
    }
    if (files.empty()) {
      bool done = true;
      for (auto& [hf, ours] : splits) done = done && fs::exists(out / (ours + ".txt"), ec);
      if (done) return out;
      throw Error("dataset '" + repo + "' (" + name + ") is not in the Hugging Face cache at " +
                  cache.root().string() + " and HF_HUB_OFFLINE is set, so it cannot be downloaded");
    }
  } else {
    RepoInfo info = fetch_repo_info(repo, RepoType::Dataset, opts);
    std::set<std::string> configs;
    for (auto& f : info.files) {
      auto slash = f.name.find('/');
      if (slash != std::string::npos && f.name.size() > 8 && f.name.compare(f.name.size() - 8, 8, ".parquet") == 0) {
        configs.insert(f.name.substr(0, slash));
        if (f.name.compare(0, slash, name) == 0 && slash == name.size()) files.push_back(f.name);
      }
    }
    if (files.empty()) {
      std::string list;
      for (auto& s : configs) list += (list.empty() ? "" : ", ") + s;
      throw Error("dataset '" + repo + "' has no configuration '" + name + "'" +
                  (list.empty() ? "" : " (available: " + list + ")"));
    }
    commit = info.commit;
    // Already converted from this commit: nothing to do.
    fs::path src = out / "SOURCE.json";
    if (fs::exists(src, ec)) {
      try {
        auto j = nlohmann::json::parse(read_text_file(src));
        bool done = j.value("commit", "") == commit;
        for (auto& [hf, ours] : splits) done = done && fs::exists(out / (ours + ".txt"), ec);
        if (done) return out;
      } catch (const std::exception&) {
      }
    }
    snap = download_files(info, RepoType::Dataset, files, opts, progress, cancel);
  }
  std::sort(files.begin(), files.end());

  // Convert: each parquet row is one line of the original wiki.*.raw file, with its "\n"; the
  // original's blank lines (" \n") became empty rows.
  fs::create_directories(out, ec);
  if (ec) throw Error("cannot create '" + out.string() + "': " + ec.message());
  nlohmann::json source = {{"repo", repo}, {"config", name}, {"commit", commit}, {"files", files}};
  for (auto& [hf, ours] : splits) {
    std::string text;
    int shards = 0;
    for (auto& f : files) {
      std::string base = fs::path(f).filename().string();
      if (base.rfind(hf + "-", 0) != 0 && base != hf + ".parquet") continue;
      ++shards;
      for_each_parquet_string(snap / f, "text", [&](std::string_view s) {
        if (s.empty()) text += " \n";
        else text.append(s.data(), s.size());
      });
    }
    if (!shards) throw Error("dataset '" + repo + "' (" + name + ") has no " + hf + " split");
    write_file_atomic(out / (ours + ".txt"), text);
  }
  write_file_atomic(out / "SOURCE.json", source.dump(2) + "\n");
  return out;
}

// ---- listing ------------------------------------------------------------------------------------

std::vector<CachedModel> list_cached_models(const fs::path& cache_dir) {
  std::vector<CachedModel> hf, bundled;
  HubCache cache(cache_dir);
  std::error_code ec;
  auto model_type = [](const fs::path& dir) -> std::string {
    try {
      auto j = nlohmann::json::parse(read_text_file(dir / "config.json"));
      return j.value("model_type", "");
    } catch (const std::exception&) {
      return "";
    }
  };
  for (auto& e : fs::directory_iterator(cache.root(), ec)) {
    std::string folder = e.path().filename().string();
    if (folder.rfind("models--", 0) != 0 || !e.is_directory()) continue;
    std::string id;
    for (size_t i = 8; i < folder.size();) {  // "--" separates the org from the name
      if (folder.compare(i, 2, "--") == 0) id += '/', i += 2;
      else id += folder[i++];
    }
    CachedModel m;
    m.name = id;
    m.origin = "hf-cache";
    std::optional<fs::path> snap;
    try {
      snap = cache.resolve_snapshot(id, RepoType::Model, "main");
    } catch (const Error&) {
      continue;  // not a valid repo id
    }
    if (!snap) {  // no refs/main: the newest snapshot
      fs::file_time_type best{};
      std::error_code e2;
      for (auto& s : fs::directory_iterator(e.path() / "snapshots", e2)) {
        auto t = fs::last_write_time(s.path(), e2);
        if (!snap || t > best) snap = s.path(), best = t;
      }
    }
    if (!snap) continue;
    m.path = *snap;
    m.commit = snap->filename().string();
    m.size_bytes = dir_size(e.path() / "blobs", false);
    m.has_safetensors = has_weights(*snap);
    m.model_type = model_type(*snap);
    hf.push_back(m);
  }
  fs::path res = resources_dir() / "models";
  for (auto& e : fs::directory_iterator(res, ec)) {
    std::error_code e2;
    if (!fs::is_directory(e.path(), e2) || !fs::exists(e.path() / "config.json", e2)) continue;
    CachedModel m;
    m.name = e.path().filename().string();
    m.origin = "bundled";
    m.path = e.path();
    m.size_bytes = dir_size(e.path(), true);
    m.has_safetensors = has_weights(e.path());
    m.model_type = model_type(e.path());
    bundled.push_back(m);
  }
  auto by_name = [](const CachedModel& a, const CachedModel& b) { return a.name < b.name; };
  std::sort(hf.begin(), hf.end(), by_name);
  std::sort(bundled.begin(), bundled.end(), by_name);
  hf.insert(hf.end(), bundled.begin(), bundled.end());
  return hf;
}

}  // namespace attnlab::hub
