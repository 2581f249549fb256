package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// A column is one figure of a report's table: its heading, and its cell
// for a scenario. Each command picks the columns that say what it
// measured.
type column struct {
	head string
	cell func(sc *scenario) string
}

// printTable writes a row per scenario, its name left-aligned and every
// figure right-aligned, with the first failure of a scenario that had one
// under its row.
func printTable(w io.Writer, scenarios []*scenario, cols []column) {
	rows := make([][]string, len(scenarios))
	widths := make([]int, len(cols)+1)
	widths[0] = len("scenario")
	for i, sc := range scenarios {
		rows[i] = append(rows[i], sc.name)
		for _, c := range cols {
			rows[i] = append(rows[i], c.cell(sc))
		}
	}
	for j, c := range cols {
		widths[j+1] = utf8.RuneCountInString(c.head)
	}
	for _, r := range rows {
		for j, s := range r {
			widths[j] = max(widths[j], utf8.RuneCountInString(s))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for j, s := range cells {
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(s))
			if j == 0 {
				b.WriteString(s + pad)
			} else {
				b.WriteString("  " + pad + s)
			}
		}
		fmt.Fprintln(w, b.String())
	}
	head := []string{"scenario"}
	for _, c := range cols {
		head = append(head, c.head)
	}
	fmt.Fprintln(w)
	line(head)
	for i, sc := range scenarios {
		line(rows[i])
		if sc.err != nil {
			fmt.Fprintf(w, "    first failure: %v\n", sc.err)
		}
	}
}

// The columns that load and cluster share.
var (
	rateColumn = column{"req/s", func(sc *scenario) string { return fmt.Sprintf("%.0f", median(sc.rates)) }}
	p50Column  = column{"p50", func(sc *scenario) string { return ms(sc.hist.quantile(0.50)) }}
	p99Column  = column{"p99", func(sc *scenario) string { return ms(sc.hist.quantile(0.99)) }}
	p999Column = column{"p99.9", func(sc *scenario) string { return ms(sc.hist.quantile(0.999)) }}
	cpuColumn  = column{"CPU/call", func(sc *scenario) string { return micros(sc.cpuPerCall()) }}
	answersCol = column{"answers", func(sc *scenario) string { return fmt.Sprint(sc.hist.n) }}
	notOKCol   = column{"not OK", func(sc *scenario) string { return fmt.Sprint(sc.fails) }}
)

// rateRatio is a column of each scenario's rate over base's, both
// medians of their rounds.
func rateRatio(head string, base *scenario) column {
	return column{head, func(sc *scenario) string { return fmt.Sprintf("%.2f", median(sc.rates)/median(base.rates)) }}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func micros(d time.Duration) string {
	return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
}
