#include "runtime/cgroups/manager.hpp"
