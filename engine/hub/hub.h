// Hugging Face Hub downloads into the standard Hugging Face cache (Qt-free, libcurl).
//
// The cache is byte-for-byte the layout huggingface_hub (Python) reads and writes, so a model
// downloaded by either is found by the other:
//   <root>/models--ORG--NAME/blobs/<etag>                 file contents (etag = sha256 for LFS
//                                                          files, git blob sha1 otherwise)
//   <root>/models--ORG--NAME/snapshots/<commit>/<file>    relative symlink -> ../../blobs/<etag>
//   <root>/models--ORG--NAME/refs/main                    the commit "main" pointed at
//   <root>/datasets--ORG--NAME/...                        the same for datasets
//   <root>/.locks/models--ORG--NAME/<etag>.lock           flock()ed while a blob downloads
// See docs/hub.md.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace attnlab::hub {

namespace fs = std::filesystem;

enum class RepoType { Model, Dataset };

/// Raised when the cancel flag stops a download; the partial blob is kept for a resume.
class DownloadCancelled : public Error {
 public:
  explicit DownloadCancelled(const std::string& what) : Error(what) {}
};

/// The Hugging Face cache directory and its layout. Never touches the network.
class HubCache {
 public:
  /// default_root().
  HubCache();
  explicit HubCache(fs::path root);
  /// $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
  /// ~/.cache/huggingface/hub (also honours the older $HUGGINGFACE_HUB_CACHE).
  static fs::path default_root();
  const fs::path& root() const { return root_; }

  /// "models--openai-community--gpt2" for ("openai-community/gpt2", Model); "models--gpt2"
  /// for the legacy id "gpt2" (exactly huggingface_hub's repo_folder_name()).
  static std::string repo_folder_name(const std::string& repo_id, RepoType type);
  fs::path repo_dir(const std::string& repo_id, RepoType type) const;
  fs::path blob_path(const std::string& repo_id, RepoType type, const std::string& etag) const;
  fs::path snapshot_dir(const std::string& repo_id, RepoType type, const std::string& commit) const;
  fs::path lock_path(const std::string& repo_id, RepoType type, const std::string& etag) const;

  /// refs/<revision> (a commit hash), if present.
  std::optional<std::string> read_ref(const std::string& repo_id, RepoType type, const std::string& revision) const;
  void write_ref(const std::string& repo_id, RepoType type, const std::string& revision,
                 const std::string& commit) const;
  /// The snapshot folder for `revision` (a ref such as "main", or a commit hash), offline.
  std::optional<fs::path> resolve_snapshot(const std::string& repo_id, RepoType type,
                                           const std::string& revision = "main") const;
  /// Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink (a copy where the
  /// filesystem has no symlinks).
  fs::path link_snapshot_file(const std::string& repo_id, RepoType type, const std::string& commit,
                              const std::string& file, const std::string& etag) const;

 private:
  fs::path root_;
};

/// True when $HF_HUB_OFFLINE is 1/true/yes/on.
bool hub_offline();
/// $HF_ENDPOINT without a trailing slash, else https://huggingface.co.
std::string default_endpoint();
/// Throws attnlab::Error unless `url` is https://, or http:// to a loopback host
/// (127.0.0.0/8, localhost, [::1]).
void check_url_allowed(const std::string& url);

struct HubOptions {
  std::string endpoint;           ///< empty: default_endpoint()
  std::string revision = "main";  ///< branch, tag or commit
  std::string token;              ///< empty: $HF_TOKEN (or $HUGGING_FACE_HUB_TOKEN)
  fs::path cache_dir;             ///< empty: HubCache::default_root()
  bool offline = false;           ///< also implied by $HF_HUB_OFFLINE
  int max_retries = 4;            ///< resumes (Range: bytes=N-) after a dropped connection
  int retry_backoff_ms = 500;     ///< doubled after each retry
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;      ///< abort a transfer with no data for this long
};

/// Called during a transfer: bytes of `file` done so far, its total (-1 if unknown).
using ProgressFn = std::function<void(int64_t done, int64_t total, const std::string& file)>;

struct RepoFile {
  std::string name;  ///< path in the repository ("rfilename")
  int64_t size = -1;
};
struct RepoInfo {
  std::string repo_id;  ///< as requested
  std::string commit;   ///< the revision's commit hash ("sha")
  std::vector<RepoFile> files;
  bool has(const std::string& name) const;
};

/// GET {endpoint}/api/{models|datasets}/{repo}/revision/{revision}.
RepoInfo fetch_repo_info(const std::string& repo_id, RepoType type, const HubOptions& opts = {});

/// Downloads `files` of a repository at one commit into the cache (blobs + snapshot links +
/// refs/<revision>); files already in the snapshot are skipped. Each file is verified: sha256
/// for LFS files, the git blob sha1 for the others, and the advertised size. Returns the
/// snapshot folder.
fs::path download_files(const RepoInfo& info, RepoType type, const std::vector<std::string>& files,
                        const HubOptions& opts = {}, const ProgressFn& progress = {},
                        const std::atomic<bool>* cancel = nullptr);

/// The files of a GPT-2-style model AttnLab loads: config.json, model.safetensors (or the
/// index + shards), tokenizer files and generation_config.json when present. Never
/// pytorch_model.bin; a repository without safetensors fails with a clear message.
/// Repo ids: "gpt2", "distilgpt2", "gpt2-medium", "gpt2-large", "gpt2-xl" (legacy names,
/// cached as models--gpt2 etc. like huggingface_hub does) or any "ORG/NAME".
/// Offline (opts.offline or $HF_HUB_OFFLINE): resolves from the cache or fails.
/// Returns the snapshot folder, loadable with load_gpt2().
fs::path download_model(const std::string& repo_id, const HubOptions& opts = {}, const ProgressFn& progress = {},
                        const std::atomic<bool>* cancel = nullptr);

/// A cached model's snapshot folder for `revision`, without any network access; throws an
/// Error saying the model is not in the cache otherwise.
fs::path cached_model_dir(const std::string& repo_id, const std::string& revision = "main",
                          const fs::path& cache_dir = {});

/// $ATTNLAB_DATA_DIR, else $XDG_CACHE_HOME/attnlab/data, else ~/.cache/attnlab/data.
fs::path default_data_dir();

/// Downloads WikiText (`name`: wikitext-2-raw-v1, wikitext-2-v1, wikitext-103-raw-v1,
/// wikitext-103-v1) from the Hub dataset "Salesforce/wikitext" (parquet files, cached in the HF
/// cache) and converts it to <data_dir>/<name>/{train,valid,test}.txt, the original
/// wiki.*.raw text. Returns that folder (usable as AttnLab's --data).
fs::path download_dataset_wikitext(const std::string& name = "wikitext-2-raw-v1", const HubOptions& opts = {},
                                   const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr,
                                   const fs::path& data_dir = {});

struct CachedModel {
  std::string name;    ///< repo id ("openai-community/gpt2") or bundled folder name
  std::string origin;  ///< "hf-cache" or "bundled"
  fs::path path;       ///< snapshot (or bundled) folder
  std::string commit;  ///< hf-cache: the snapshot's commit
  int64_t size_bytes = 0;  ///< on disk (hf-cache: the repo's blobs)
  bool has_safetensors = false;
  std::string model_type;  ///< config.json's "model_type" when readable
};

/// Models in the HF cache (`cache_dir`, empty = default root; the refs/main snapshot, else the
/// newest) followed by bundled ones (resources/models/*), each sorted by name.
std::vector<CachedModel> list_cached_models(const fs::path& cache_dir = {});

}  // namespace attnlab::hub
