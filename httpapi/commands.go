package httpapi

import (
	"context"

	"github.com/valyala/fastjson"
)

// command is one REST command. Its handler reads the validated body o,
// calls the store and appends its response fields to r.
type command struct {
	service, name string
	// counters marks the group counter commands, which need an edition
	// that includes them.
	counters bool
	handle   func(s *Server, ctx context.Context, app uint32, o *fastjson.Object, r *reply) error
}

const groupService = "group_open_http_svc"

var commands = [...]command{
	{groupService, "create_group", false, (*Server).createGroup},
	{groupService, "destroy_group", false, (*Server).destroyGroup},
	{groupService, "get_group_info", false, (*Server).getGroupInfo},
	{groupService, "get_appid_group_list", false, (*Server).getAppIDGroupList},
	{groupService, "update_group_counter", true, (*Server).updateGroupCounter},
	{groupService, "get_group_counter", true, (*Server).getGroupCounter},
	{groupService, "delete_group_counter", true, (*Server).deleteGroupCounter},
}

// commandIndex maps a request path to its command.
var commandIndex = func() map[string]int {
	m := make(map[string]int, len(commands))
	for i, c := range commands {
		m["/v4/"+c.service+"/"+c.name] = i
	}
	return m
}()
