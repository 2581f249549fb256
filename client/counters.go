package client

import (
	"context"

	"github.com/tallyserver/tally"
)

// The counters of requests and answers are tally.Counter: its fields, Key
// and Value, carry no JSON tags, so encoding/json writes them under their
// Go names, which are Tencent's. TestRequestBodies pins those bytes.

// Mode says how update_group_counter combines its values with the stored
// ones, by its name on the wire.
type Mode string

const (
	ModeSet      Mode = "Set"
	ModeIncrease Mode = "Increase"
	ModeDecrease Mode = "Decrease"
)

// UpdateGroupCounterRequest is update_group_counter's body.
type UpdateGroupCounterRequest struct {
	GroupID string `json:"GroupId"`
	// GroupCounter is 1 to 20 counters, each key once.
	GroupCounter []tally.Counter `json:"GroupCounter"`
	// Mode is "" for ModeSet, the server's default.
	Mode Mode `json:"Mode,omitempty"`
}

// GroupCounterResponse is the answer of update_group_counter, the new
// value of each counter of the request in its order, and of
// get_group_counter.
type GroupCounterResponse struct {
	GroupCounter []tally.Counter `json:"GroupCounter"`
}

// UpdateGroupCounter sets, increases or decreases counters of a group, all
// of them or, on failure, none. Made again after a failure with no answer,
// an Increase or Decrease may count twice.
func (c *Client) UpdateGroupCounter(ctx context.Context, req UpdateGroupCounterRequest) (*GroupCounterResponse, error) {
	var ans GroupCounterResponse
	if err := c.call(ctx, "update_group_counter", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

// GetGroupCounterRequest is get_group_counter's body.
type GetGroupCounterRequest struct {
	GroupID string `json:"GroupId"`
	// GroupCounterKeys names the counters to read; empty reads every
	// one.
	GroupCounterKeys []string `json:"GroupCounterKeys,omitempty"`
}

// GetGroupCounter reads a group's counters: every one sorted by key, or
// the named ones that exist, in the order named.
func (c *Client) GetGroupCounter(ctx context.Context, req GetGroupCounterRequest) (*GroupCounterResponse, error) {
	var ans GroupCounterResponse
	if err := c.call(ctx, "get_group_counter", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

// DeleteGroupCounterRequest is delete_group_counter's body.
type DeleteGroupCounterRequest struct {
	GroupID string `json:"GroupId"`
	// GroupCounterKeys names the counters to delete; empty deletes every
	// one. A key the group lacks is no error.
	GroupCounterKeys []string `json:"GroupCounterKeys,omitempty"`
}

// DeleteGroupCounter deletes a group's counters.
func (c *Client) DeleteGroupCounter(ctx context.Context, req DeleteGroupCounterRequest) error {
	return c.call(ctx, "delete_group_counter", req, nil)
}
