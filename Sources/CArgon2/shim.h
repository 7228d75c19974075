// libargon2 (the reference implementation) for Swift.
#pragma once
#include <argon2.h>
