package app

import (
	"context"
	"errors"
)

func replayCommand(ctx context.Context, args []string, io IO) error {
	return errors.New("replay: not built yet")
}
