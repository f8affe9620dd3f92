package stack_test

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

// Dashboard grid: 24 columns; CloudWatch draws a height unit a little
// shorter than a column is wide.
const (
	cellW, cellH = 50, 38
	margin       = 12
)

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z]+?)(?:[0-9A-F]{8})?(?:\.[A-Za-z]+)?\}`)

// drawDashboard draws the dashboard's layout as CloudWatch lays it out: each
// widget where the body places it, its title, what it plots (legend) and its
// annotations. It shows no data: that is what a fresh deployment looks like.
func drawDashboard(d dashboard) string {
	var width, height int
	for _, w := range d.Widgets {
		width = max(width, (w.X+w.Width)*cellW)
		height = max(height, (w.Y+w.Height)*cellH)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif">`+"\n",
		width+2*margin, height+2*margin+28, width+2*margin, height+2*margin+28)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#f2f3f3"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="16" font-weight="bold" fill="#16191f">Firebreak-&lt;Region&gt; (CloudWatch dashboard, layout from the synthesized template)</text>`+"\n", margin, margin+14)
	for _, w := range d.Widgets {
		x, y := margin+w.X*cellW+4, margin+28+w.Y*cellH+4
		wd, ht := w.Width*cellW-8, w.Height*cellH-8
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#ffffff" stroke="#d5dbdb"/>`+"\n", x, y, wd, ht)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" font-weight="bold" fill="#16191f">%s</text>`+"\n", x+8, y+18, esc(clip(w.Properties.Title, wd/7)))
		if w.Type == "alarm" {
			for i, a := range w.Properties.Alarms {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="#1d8102"/><text x="%d" y="%d" font-size="11" fill="#16191f">%s</text>`+"\n",
					x+10, y+32+i*18, x+26, y+41+i*18, esc(names(a)))
			}
			continue
		}
		series := w.series()
		legendRows := (len(series) + 1) / 2
		plotTop, plotBottom := y+30, y+ht-10-legendRows*15
		// Axes and grid lines of an empty plot.
		for i := 0; i <= 4; i++ {
			gy := plotTop + (plotBottom-plotTop)*i/4
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eaeded"/>`+"\n", x+30, gy, x+wd-10, gy)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#879596" text-anchor="middle">No data yet</text>`+"\n", x+wd/2, (plotTop+plotBottom)/2+4)
		for _, a := range w.Properties.Annotations.Horizontal {
			ay := plotTop + (plotBottom-plotTop)/4
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d13212" stroke-dasharray="4 3"/>`+"\n", x+30, ay, x+wd-10, ay)
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#d13212" text-anchor="end">%s %g</text>`+"\n", x+wd-12, ay-3, esc(a.Label), a.Value)
		}
		for i, s := range series {
			col, row := i%2, i/2
			lx, ly := x+10+col*(wd/2), plotBottom+16+row*15
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="3" fill="%s"/><text x="%d" y="%d" font-size="10" fill="#16191f">%s</text>`+"\n",
				lx, ly-4, palette[i%len(palette)], lx+14, ly, esc(clip(label(w, i, s), wd/2/6-3)))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// label is what the legend shows for series i: its label, else the series.
func label(w widget, i int, series string) string {
	for _, v := range w.Properties.Metrics[i] {
		if o, ok := v.(map[string]any); ok {
			if l, ok := o["label"].(string); ok && l != "" {
				return l
			}
		}
	}
	if strings.HasPrefix(series, "SEARCH(") {
		return "one line per step that failed"
	}
	return names(series)
}

// names turns template placeholders into the resources' names.
func names(s string) string { return placeholder.ReplaceAllString(s, "$1") }

func clip(s string, n int) string {
	if n > 3 && len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

func esc(s string) string { return html.EscapeString(s) }
