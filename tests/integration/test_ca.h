// The test certificate authority, shared with the unit tests (tests/common/test_ca.h).
#pragma once

#include "../common/test_ca.h"
