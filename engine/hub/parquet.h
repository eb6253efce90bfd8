// A minimal Apache Parquet reader for one string column (what the Hub's WikiText files hold).
//
// Supported: flat schemas, a BYTE_ARRAY column (REQUIRED or OPTIONAL), data pages v1 and v2,
// PLAIN, dictionary (PLAIN_DICTIONARY / RLE_DICTIONARY) and DELTA byte-array encodings, UNCOMPRESSED and SNAPPY
// codecs (what pyarrow and `datasets` write by default). Anything else fails with a message
// naming the file and the unsupported feature. Nulls are skipped.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace attnlab::hub {

/// Calls `fn` with each non-null value of `column` (empty: the only BYTE_ARRAY column), in
/// row order. Returns the number of rows visited (nulls included).
int64_t for_each_parquet_string(const std::filesystem::path& file, const std::string& column,
                                const std::function<void(std::string_view)>& fn);

std::vector<std::string> read_parquet_strings(const std::filesystem::path& file, const std::string& column);

/// Snappy raw-format decompression (exposed for tests).
std::string snappy_decompress(std::string_view in);

}  // namespace attnlab::hub
