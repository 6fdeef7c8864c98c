using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ScottPlot;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// The % of FMA peak chart: one panel per kernel, one group of bars per (shape, threads), one bar per engine with
/// its value on top, a dashed line at 100 %. Each engine keeps its colour in every panel.
/// </summary>
public static class PeakChart
{
    private const int Width = 1600;
    private const int PanelHeight = 560;

    private static readonly Dictionary<string, Color> s_colors = new()
    {
        ["Generic"] = Color.FromHex("#9E9E9E"),
        ["Generated"] = Color.FromHex("#1F77B4"),
        ["GeneratedPacked"] = Color.FromHex("#0B3C8C"),
        ["TensorPrimitives"] = Color.FromHex("#2CA02C"),
        ["OnnxRuntime"] = Color.FromHex("#FF7F0E"),
        ["OnnxRuntimeStandardOps"] = Color.FromHex("#D62728"),
    };

    /// <summary>ScottPlot's default sans font is often missing on Linux, where text then falls back to a serif font.</summary>
    private static readonly string? s_sans = SkiaSharp.SKFontManager.Default.FontFamilies.Contains("DejaVu Sans") ? "DejaVu Sans" : null;

    public static void Save(IReadOnlyList<ResultRow> rows, string path, string title)
    {
        var kernels = RunResults.Ordered(rows.Select(r => r.Kernel), RunResults.Kernels).ToList();
        var multiplot = new Multiplot();
        for (int i = 0; i < kernels.Count; i++)
        {
            Plot panel = Panel(rows.Where(r => r.Kernel == kernels[i]).ToList(), kernels[i], i == 0 ? title : null);
            if (i == 0)
            {
                multiplot.Reset(panel); // a new Multiplot starts with one empty plot
            }
            else
            {
                multiplot.AddPlot(panel);
            }
        }

        multiplot.SavePng(path, Width, PanelHeight * kernels.Count);
    }

    private static Plot Panel(List<ResultRow> rows, string kernel, string? heading)
    {
        var plot = new Plot();
        var engines = RunResults.Ordered(rows.Select(r => r.Engine), RunResults.Engines).ToList();
        var groups = RunResults.Groups(rows);
        int stride = engines.Count + 1;
        var fallback = new ScottPlot.Palettes.Category10();

        for (int e = 0; e < engines.Count; e++)
        {
            Color color = s_colors.TryGetValue(engines[e], out Color known) ? known : fallback.GetColor(e);
            var bars = new List<Bar>();
            for (int g = 0; g < groups.Count; g++)
            {
                ResultRow? row = rows.FirstOrDefault(r => r.Engine == engines[e] && r.Shape == groups[g].Shape && r.Threads == groups[g].Threads);
                if (row is null)
                {
                    continue;
                }

                bars.Add(new Bar
                {
                    Position = g * stride + e,
                    Value = row.PercentOfPeak,
                    FillColor = color,
                    LineWidth = 0,
                    Label = row.PercentOfPeak.ToString(row.PercentOfPeak < 9.5 ? "0.0" : "0", CultureInfo.InvariantCulture),
                });
            }

            var barPlot = plot.Add.Bars(bars);
            barPlot.LegendText = engines[e];
            barPlot.ValueLabelStyle.FontSize = 13;
            if (s_sans is not null)
            {
                barPlot.ValueLabelStyle.FontName = s_sans;
            }
        }

        var ticks = groups.Select((g, i) => new Tick(i * stride + (engines.Count - 1) / 2.0, $"{g.Shape}\n{(g.Threads == 1 ? "1 thread" : $"{g.Threads} threads")}")).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 15;
        plot.Axes.Left.TickLabelStyle.FontSize = 14;

        var full = plot.Add.HorizontalLine(100);
        full.LinePattern = LinePattern.Dashed;
        full.LineWidth = 1;
        full.Color = Colors.Gray;

        double top = System.Math.Max(100, rows.Count == 0 ? 0 : rows.Max(r => r.PercentOfPeak));
        plot.Axes.SetLimits(-1, groups.Count * stride - 1, 0, top * 1.12);
        plot.HideGrid();
        plot.Grid.YAxisStyle.IsVisible = true;

        var peak = FmaPeak.Value;
        string caption = string.Create(CultureInfo.InvariantCulture,
            $"{kernel}: % of FP32 FMA peak (1 thread {peak.PerThread:0} GFLOP/s, {System.Environment.ProcessorCount} threads {peak.AllThreads:0})");
        plot.Title(heading is null ? caption : heading + "\n" + caption, 17);
        plot.YLabel("% of FMA peak of the row's threads", 15);
        plot.ShowLegend(Edge.Bottom);
        plot.Legend.FontSize = 15;
        if (s_sans is not null)
        {
            plot.Font.Set(s_sans);
            plot.Legend.FontName = s_sans;
        }

        plot.Legend.TightHorizontalWrapping = true;
        plot.Legend.InterItemPadding = new PixelPadding(10, 10, 4, 4);
        return plot;
    }
}
