// PostgreSQL's client library (Debian libpq-dev), for the Timeline store's PostgreSQL backend.
#include <libpq-fe.h>
