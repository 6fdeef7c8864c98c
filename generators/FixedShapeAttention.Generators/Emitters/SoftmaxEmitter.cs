using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits the row softmax of the scores by the contract in src/FixedShapeAttention/Kernels/SoftmaxContract.cs
/// (<see cref="SoftmaxContract"/>, linked here), which the runtime-shape kernels' RowSoftmax follows too: ggml's soft_max
/// (ggml-cpu/vec.cpp), not TensorPrimitives.SoftMax (which does not subtract the maximum, so exp overflows for scores
/// above ~88). The scores are in base 2 (Q·Kᵀ·log₂e/√d), the max starts at -inf, 2^(x − max) is summed lane by lane in float over blocks of
/// <see cref="SoftmaxContract.SumBlockVectors"/> vectors and the blocks in double. The method returns the float reciprocal
/// of the sum instead of multiplying every weight by it: P·V applies it to the row's outputs (HeadDim multiplies per
/// row instead of SequenceLength loads, multiplies and stores).
/// </summary>
internal static class SoftmaxEmitter
{
    /// <param name="lanes">The width of the score vectors on this branch.</param>
    /// <param name="scoreColumns">The padded row width this branch computed: a multiple of <paramref name="lanes"/>.</param>
    /// <param name="causal">Whether P·V reads a different number of keys per row (<c>reach</c>); then only the vectors up to it are computed.</param>
    public static void EmitRowMethod(SourceWriter w, string name, int lanes, int scoreColumns, bool causal)
    {
        var isa = IsaSyntax.ForLanes(lanes);
        w.Line("/// <summary>Turns a row of base-2 scores into 2^(score − max) and returns 1/Σ, the factor that normalises the row's outputs;");
        w.Line("/// the max comes out too, for the log-sum-exp a training forward pass keeps.</summary>");
        using (w.Block(causal ? $"internal static float {name}(ref float row, int visible, int reach, out float rowMax)" : $"internal static float {name}(ref float row, int visible, out float rowMax)"))
        {
            string end;
            if (causal)
            {
                w.Line("// P·V reads this row's weights up to reach (its own position). Keys from visible on (after the query, or padding)");
                w.Line("// get -inf up to the next whole vector past reach: weight exactly 0.");
                w.Line($"int end = (reach + {lanes - 1}) / {lanes} * {lanes};");
                EmitMask(w, isa, "end");
                end = "end";
            }
            else
            {
                w.Line($"// Masked keys and the columns that pad the row to {scoreColumns} (whole vectors) get -inf: weight exactly 0.");
                end = scoreColumns.ToString(System.Globalization.CultureInfo.InvariantCulture);
                EmitMask(w, isa, end);
            }

            w.Line($"{isa.Type} maxVector = {isa.Broadcast("float.NegativeInfinity")};");
            w.Loop("j", "0", end, lanes, j => w.Line($"maxVector = {isa.Max("maxVector", isa.Load("row", j))};"));
            w.Line($"rowMax = {isa.MaxAcross("maxVector")};");
            w.Line("// Every key masked (all -inf): weights 0 rather than 0/0 = NaN. The hardware max skips NaN, so a row whose");
            w.Line("// visible scores are all NaN lands here too: anything that is not -inf is NaN, and the row stays NaN.");
            using (w.Block("if (float.IsNegativeInfinity(rowMax))"))
            {
                w.Line($"Span<float> weights = MemoryMarshal.CreateSpan(ref row, {end});");
                using (w.Block("if (weights.ContainsAnyExcept(float.NegativeInfinity))"))
                {
                    w.Line("weights.Fill(float.NaN);");
                }

                using (w.Block("else"))
                {
                    w.Line("weights.Clear();");
                }

                w.Line("return 1f;");
            }

            w.Line($"{isa.Type} maxBroadcast = {isa.Broadcast("rowMax")};");
            w.Line(isa.IsScalar ? "double sumLower = 0d;" : $"{isa.DoubleType} sumLower = {isa.DoubleZero}, sumUpper = {isa.DoubleZero};");
            if (isa.IsScalar)
            {
                w.Loop("j", "0", end, lanes, j =>
                {
                    w.Line($"{isa.Type} weight = {isa.Exp2NonPositive($"{isa.Load("row", j)} - maxBroadcast")};");
                    w.Line(isa.Store("weight", "row", j));
                    w.Line("sumLower += weight;");
                });
            }
            else
            {
                int blockVectors = SoftmaxContract.SumBlockVectors;
                w.Line($"// Each lane adds at most {blockVectors} weights in float (relative error ≤ {blockVectors}·2⁻²⁴), then the block goes into double:");
                w.Line("// widening every vector cost five instructions per eight weights' worth of exp.");
                w.Loop("block", "0", end, blockVectors * lanes, block =>
                {
                    w.Line($"{isa.Type} partial = {isa.Zero};");
                    string blockEnd = block == "0" && int.TryParse(end, out int columns) && columns <= blockVectors * lanes ? end : "blockEnd";
                    if (blockEnd == "blockEnd")
                    {
                        w.Line($"int blockEnd = Math.Min({block} + {blockVectors * lanes}, {end});");
                    }

                    w.Loop("j", block, blockEnd, lanes, j =>
                    {
                        w.Line($"{isa.Type} weight = {isa.Exp2NonPositive($"{isa.Load("row", j)} - maxBroadcast")};");
                        w.Line(isa.Store("weight", "row", j));
                        w.Line("partial += weight;");
                    });

                    foreach (string line in isa.AccumulateDouble("sumLower", "sumUpper", "partial"))
                    {
                        w.Line(line);
                    }
                });
            }

            w.Line($"return (float)(1d / ({isa.SumDouble("sumLower", "sumUpper")}));");
        }
    }

    /// <summary>
    /// Keys [visible, end) get -inf. On the vector branches the vector holding <c>visible</c> keeps its lanes below it and
    /// the whole vectors after it are stored as -inf: a scalar store per key, read back at once by the max's vector
    /// loads, stalled each row on forwarding those stores (the causal forward pass of a 128-token head took a fifth longer).
    /// </summary>
    private static void EmitMask(SourceWriter w, IsaSyntax isa, string end)
    {
        if (isa.IsScalar)
        {
            using (w.Block($"for (int j = visible; j < {end}; j++)"))
            {
                w.Line("Unsafe.Add(ref row, j) = float.NegativeInfinity;");
            }

            return;
        }

        int lanes = isa.Lanes;
        w.Line($"int masked = visible / {lanes} * {lanes};");
        using (w.Block($"if (masked < {end})"))
        {
            w.Line($"{isa.VectorClass}<int> columns = {isa.VectorClass}<int>.Indices + {isa.VectorClass}.Create(masked);");
            w.Line($"{isa.Type} kept = {isa.VectorClass}.LessThan(columns, {isa.VectorClass}.Create(visible)).AsSingle();");
            w.Line($"{isa.Type} minusInfinity = {isa.Broadcast("float.NegativeInfinity")};");
            w.Line($"{isa.Type} last = {isa.VectorClass}.ConditionalSelect(kept, {isa.Load("row", "masked")}, minusInfinity);");
            w.Line(isa.Store("last", "row", "masked"));
            using (w.Block($"for (int j = masked + {lanes}; j < {end}; j += {lanes})"))
            {
                w.Line(isa.Store("minusInfinity", "row", "j"));
            }
        }
    }
}
