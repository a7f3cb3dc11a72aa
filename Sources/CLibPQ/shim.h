// libpq's client API (Debian libpq-dev; headers in /usr/include/postgresql, found through pkg-config).
#include <libpq-fe.h>
