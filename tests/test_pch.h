// LibTorch first: Qt's `slots`/`signals` keywords break ATen headers included after them.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <QtTest/QtTest>
