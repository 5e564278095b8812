// The engine's name for the always-on invariant check (citycard/check.h).
#pragma once

#include "citycard/check.h"

#define ENGINE_CHECK(condition) CITYCARD_CHECK(condition)
