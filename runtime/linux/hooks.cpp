#include "runtime/linux/hooks.hpp"
