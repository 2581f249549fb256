package client_test

import (
	"context"
	"errors"
	"log"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
)

// The README's example as a whole program, so that a change of the API
// that breaks it breaks the build. It has no output to check, so go test
// builds it without running it.
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", 1400000001, "administrator",
		client.WithSecretKey("the app's secret key")) // signs and renews its own UserSigs
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic, Name: "Lobby", GroupID: "lobby"})
	if err != nil {
		log.Fatal(err)
	}
	ans, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{
		GroupID:      "lobby",
		Mode:         client.ModeIncrease,
		GroupCounter: []tally.Counter{{Key: "likes", Value: 1}},
	})
	var e *client.Error
	switch {
	case errors.As(err, &e) && e.Code == tally.ErrGroupNotFound:
		log.Printf("the group is gone: %s", e.Info)
	case err != nil:
		log.Fatal(err) // no answer, or not one from Tally: maybe applied, maybe not
	default:
		log.Printf("likes: %d", ans.GroupCounter[0].Value)
	}
	// Only the fields that are set are sent.
	err = c.ModifyGroupBaseInfo(ctx, client.ModifyGroupBaseInfoRequest{GroupID: "lobby", Name: new("The lobby")})
	if err != nil {
		log.Fatal(err)
	}
}
