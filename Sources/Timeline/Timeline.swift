// Timeline: the shared customer store (being built).
