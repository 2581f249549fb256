package config

import (
	"fmt"
	"strconv"
	"strings"
)

// MinMemoryBudget is the smallest memory_budget taken: below it, the
// store's memtables and block cache alone would not fit.
const MinMemoryBudget = 32 << 20

// ParseSize reads a size in bytes: a whole number, alone or followed by
// KiB, MiB, GiB or TiB. Decimal units (KB, MB, GB) are refused, naming
// the binary one, since "512MB" is read as either by different people.
func ParseSize(s string) (int64, error) {
	num, unit := s, ""
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	var shift uint
	switch unit {
	case "", "B":
	case "KiB":
		shift = 10
	case "MiB":
		shift = 20
	case "GiB":
		shift = 30
	case "TiB":
		shift = 40
	case "KB", "MB", "GB", "TB", "kB", "K", "M", "G", "T":
		return 0, fmt.Errorf("%q: write the unit as %siB, a power of 1024", s, strings.ToUpper(unit[:1]))
	default:
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 2GiB", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 2GiB", s)
	}
	return n << shift, nil
}

// ParseMemoryBudget reads a memory budget, from the file or the command
// line: a size ParseSize takes, at least MinMemoryBudget.
func ParseMemoryBudget(s string) (int64, error) {
	n, err := ParseSize(s)
	if err != nil {
		return 0, err
	}
	if n < MinMemoryBudget {
		return 0, fmt.Errorf("%d bytes is below the smallest budget, %dMiB", n, MinMemoryBudget>>20)
	}
	return n, nil
}

// memoryBudgetValue reads memory_budget.
func memoryBudgetValue(fl field) (int64, error) {
	s, err := stringValue(fl)
	if err != nil {
		return 0, err
	}
	n, err := ParseMemoryBudget(s)
	if err != nil {
		return 0, errAt(fl.key, fl.path, "%v", err)
	}
	return n, nil
}
