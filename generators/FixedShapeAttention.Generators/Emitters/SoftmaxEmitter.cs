using FixedShapeAttention.Generators.Infrastructure;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits the row softmax of the scores, following ggml's soft_max (ggml-cpu/vec.cpp), not TensorPrimitives.SoftMax
/// (which does not subtract the maximum, so exp overflows for scores above ~88): the max starts at -inf, exp(x − max)
/// is summed in double lane by lane, then every weight is multiplied by the float reciprocal of the sum.
/// </summary>
internal static class SoftmaxEmitter
{
    /// <param name="lanes">The width of the score vectors on this branch.</param>
    /// <param name="scoreColumns">The padded row width this branch computed: a multiple of <paramref name="lanes"/>.</param>
    /// <param name="causal">Whether P·V reads a different number of keys per row (<c>reach</c>); then only the vectors up to it are computed.</param>
    public static void EmitRowMethod(SourceWriter w, string name, int lanes, int scoreColumns, bool causal)
    {
        var isa = IsaSyntax.ForLanes(lanes);
        using (w.Block(causal ? $"private static void {name}(ref float row, int visible, int reach)" : $"private static void {name}(ref float row, int visible)"))
        {
            string end;
            if (causal)
            {
                w.Line("// P·V reads this row's weights up to reach (its own position). Keys from visible on (after the query, or padding)");
                w.Line("// get -inf up to the next whole vector past reach: weight exactly 0.");
                w.Line($"int end = (reach + {lanes - 1}) / {lanes} * {lanes};");
                using (w.Block("for (int j = visible; j < end; j++)"))
                {
                    w.Line("Unsafe.Add(ref row, j) = float.NegativeInfinity;");
                }

                end = "end";
            }
            else
            {
                w.Line($"// Masked keys and the columns that pad the row to {scoreColumns} (whole vectors) get -inf: weight exactly 0.");
                using (w.Block($"for (int j = visible; j < {scoreColumns}; j++)"))
                {
                    w.Line("Unsafe.Add(ref row, j) = float.NegativeInfinity;");
                }

                end = scoreColumns.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            w.Line($"{isa.Type} maxVector = {isa.Broadcast("float.NegativeInfinity")};");
            using (w.Block($"for (int j = 0; j < {end}; j += {lanes})"))
            {
                w.Line($"maxVector = {isa.Max("maxVector", isa.Load("row", Index.Of("j")))};");
            }

            w.Line($"float rowMax = {isa.MaxAcross("maxVector")};");
            w.Line("// Every key masked (all -inf): weights 0 rather than 0/0 = NaN.");
            using (w.Block("if (float.IsNegativeInfinity(rowMax))"))
            {
                w.Line($"MemoryMarshal.CreateSpan(ref row, {end}).Clear();");
                w.Line("return;");
            }

            w.Line($"{isa.Type} maxBroadcast = {isa.Broadcast("rowMax")};");
            w.Line(isa.IsScalar ? "double sumLower = 0d;" : $"{isa.DoubleType} sumLower = {isa.DoubleZero}, sumUpper = {isa.DoubleZero};");
            using (w.Block($"for (int j = 0; j < {end}; j += {lanes})"))
            {
                w.Line($"{isa.Type} weight = {isa.Exp($"{isa.Load("row", Index.Of("j"))} - maxBroadcast")};");
                w.Line(isa.Store("weight", "row", Index.Of("j")));
                foreach (string line in isa.AccumulateDouble("sumLower", "sumUpper", "weight"))
                {
                    w.Line(line);
                }
            }

            w.Line($"{isa.Type} reciprocal = {isa.Broadcast($"(float)(1d / ({isa.SumDouble("sumLower", "sumUpper")}))")};");
            using (w.Block($"for (int j = 0; j < {end}; j += {lanes})"))
            {
                w.Line(isa.Store($"{isa.Load("row", Index.Of("j"))} * reciprocal", "row", Index.Of("j")));
            }
        }
    }
}
