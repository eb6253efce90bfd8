// Precompiled header for the engine and its tests: LibTorch is the expensive part.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <memory>
#include <functional>
