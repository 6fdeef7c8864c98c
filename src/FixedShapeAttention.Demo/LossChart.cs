using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace FixedShapeAttention.Demo;

/// <summary>The training loss per step, with the corpus's unigram entropy for scale.</summary>
internal static class LossChart
{
    public static void Save(IReadOnlyList<double> losses, double unigramEntropy, string path)
    {
        var plot = new Plot();
        // ScottPlot's default sans font is often missing on Linux, where text then falls back to a serif font.
        string? sans = SkiaSharp.SKFontManager.Default.FontFamilies.Contains("DejaVu Sans") ? "DejaVu Sans" : null;
        if (sans is not null)
            plot.Font.Set(sans);
        double[] steps = Enumerable.Range(1, losses.Count).Select(s => (double)s).ToArray();
        var curve = plot.Add.Scatter(steps, losses.ToArray());
        curve.MarkerSize = 0;
        curve.LegendText = "training loss";
        var entropy = plot.Add.HorizontalLine(unigramEntropy);
        entropy.LegendText = "unigram entropy of the corpus";
        entropy.LinePattern = LinePattern.Dashed;
        plot.ShowLegend();
        plot.Title("Byte-level GPT on this repository's sources");
        plot.XLabel("step");
        plot.YLabel("cross-entropy (nats per byte)");
        plot.SavePng(path, 900, 520);
    }
}
