package stackauth

import "log/slog"

// discardLogger is used when the caller gives no logger.
var discardLogger = slog.New(slog.DiscardHandler)
