package httpapi

// command is one REST command: the path that names it, what it needs of the
// app, and the handler that reads the call's body, calls the store and
// appends its fields to the call's answer.
type command struct {
	// index is the command's position in commands, or len(commands) for
	// unknownCommand: the per-command rate windows and metrics are kept
	// in slices by it, so that a call finds them without a map lookup.
	index         int
	service, name string
	// path is the URL path that names the command.
	path string
	// counters marks the group counter commands, which need an edition
	// that includes them.
	counters bool
	// write marks the commands that change the store, whose calls carry
	// a tally.Origin when the app records after-events.
	write  bool
	handle func(s *Server, c *call) error
}

const groupService = "group_open_http_svc"

var commands = [...]*command{
	{service: groupService, name: "create_group", write: true, handle: (*Server).createGroup},
	{service: groupService, name: "destroy_group", write: true, handle: (*Server).destroyGroup},
	{service: groupService, name: "get_group_info", handle: (*Server).getGroupInfo},
	{service: groupService, name: "get_appid_group_list", handle: (*Server).getAppIDGroupList},
	{service: groupService, name: "modify_group_base_info", write: true, handle: (*Server).modifyGroupBaseInfo},
	{service: groupService, name: "add_group_member", write: true, handle: (*Server).addGroupMember},
	{service: groupService, name: "delete_group_member", write: true, handle: (*Server).deleteGroupMember},
	{service: groupService, name: "get_group_member_info", handle: (*Server).getGroupMemberInfo},
	{service: groupService, name: "get_joined_group_list", handle: (*Server).getJoinedGroupList},
	{service: groupService, name: "get_role_in_group", handle: (*Server).getRoleInGroup},
	{service: groupService, name: "update_group_counter", counters: true, write: true, handle: (*Server).updateGroupCounter},
	{service: groupService, name: "get_group_counter", counters: true, handle: (*Server).getGroupCounter},
	{service: groupService, name: "delete_group_counter", counters: true, write: true, handle: (*Server).deleteGroupCounter},
}

// unknownCommand stands for a path that names no command, so that such
// calls are counted and logged like the others, under the name "unknown".
// It has no handler: the server refuses the call before it would run.
var unknownCommand = &command{index: len(commands), name: "unknown"}

// commandByPath maps a request path to its command.
var commandByPath = func() map[string]*command {
	m := make(map[string]*command, len(commands))
	for i, c := range commands {
		c.index = i
		c.path = "/v4/" + c.service + "/" + c.name
		m[c.path] = c
	}
	return m
}()

// lookupCommand returns the command that path names, or unknownCommand.
func lookupCommand(path string) *command {
	if c, ok := commandByPath[path]; ok {
		return c
	}
	return unknownCommand
}

// lookupCommandBytes is lookupCommand for a path in bytes; the map lookup
// does not copy it.
func lookupCommandBytes(path []byte) *command {
	if c, ok := commandByPath[string(path)]; ok {
		return c
	}
	return unknownCommand
}
