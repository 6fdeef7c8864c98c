using System;
using System.Linq;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Decoding;

[Collection(nameof(ProcessWideMeasurements))]
public sealed class FewRowGemmTests
{
    private static float[] Random(int length, int seed)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    // Rows through every tile (4-row tiles, single rows, both), and sizes that reach every column tail: below a vector,
    // a vector short of a tile, and past whole tiles; 130 × 8 rows is large enough to be shared between threads; 37 and
    // 128 rows are prompts, which FewRowGemm.Suits sends here for a W this small. The last six are larger than
    // FewRowGemm.StreamedMatrixBytes, so they sweep blocks of rows (SweepRows): one row at a time for single rows, blocks
    // of 16 with a short last block (k = 520) for two, one or one-and-a-bit groups of four rows, and 2100 columns (16
    // tiles and 52 tail columns) in chunks of several tiles when shared.
    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(3, 32, 48)]
    [InlineData(4, 33, 257)]
    [InlineData(5, 128, 130)]
    [InlineData(8, 128, 130)]
    [InlineData(9, 64, 136)]
    [InlineData(37, 128, 130)]
    [InlineData(128, 40, 72)]
    [InlineData(1, 512, 640)]
    [InlineData(2, 520, 607)]
    [InlineData(5, 520, 600)]
    [InlineData(4, 520, 600)]
    [InlineData(8, 520, 600)]
    [InlineData(1, 160, 2100)]
    public void Multiply_is_the_same_bits_as_the_blocked_product_plus_bias_on_any_thread_count(int m, int k, int n)
    {
        float[] x = Random(m * k, 1), w = Random(k * n, 2), bias = Random(n, 3);
        var expected = new float[m * n];
        PanelGemm.Multiply(x, k, false, w, n, false, expected, n, m, n, k, false, 1);
        TrainingKernels.AddBias(expected, bias);
        foreach (int threads in new[] { 1, -1 })
        {
            var actual = new float[m * n];
            FewRowGemm.Multiply(x, w, bias, actual, m, k, n, threads);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(1, 128, 256)]
    [InlineData(3, 40, 23)]
    [InlineData(4, 33, 257)]
    [InlineData(8, 128, 130)]
    public void MultiplyTransposed_matches_a_float64_product_and_is_the_same_bits_on_any_thread_count_and_batch(int m, int k, int n)
    {
        float[] x = Random(m * k, 4), w = Random(n * k, 5);
        var one = new float[m * n];
        FewRowGemm.MultiplyTransposed(x, w, one, m, k, n, 1);
        for (int r = 0; r < m; r++)
        {
            for (int j = 0; j < n; j++)
            {
                double exact = 0, magnitude = 0;
                for (int kk = 0; kk < k; kk++)
                {
                    exact += (double)x[r * k + kk] * w[j * k + kk];
                    magnitude += Math.Abs((double)x[r * k + kk] * w[j * k + kk]);
                }

                // k float32 roundings of partial sums at most, each within 2⁻²⁴ of the running magnitude.
                Assert.True(Math.Abs(one[r * n + j] - exact) <= k * 6e-8 * magnitude + 1e-30, $"[{r}, {j}]: {one[r * n + j]} against {exact}");
            }
        }

        var shared = new float[m * n];
        FewRowGemm.MultiplyTransposed(x, w, shared, m, k, n, -1);
        Assert.Equal(one.Select(BitConverter.SingleToInt32Bits), shared.Select(BitConverter.SingleToInt32Bits));
        // Each row alone gives the bits it gets among the others (a row's tile never changes its arithmetic).
        var alone = new float[n];
        FewRowGemm.MultiplyTransposed(x.AsSpan((m - 1) * k, k), w, alone, 1, k, n, 1);
        Assert.Equal(one.AsSpan((m - 1) * n, n).ToArray().Select(BitConverter.SingleToInt32Bits), alone.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void A_matrix_larger_than_L2_is_swept_a_block_of_rows_at_a_time_and_a_smaller_one_in_one_sweep()
    {
        Assert.True(640L * 512 * sizeof(float) > FewRowGemm.StreamedMatrixBytes);
        Assert.Equal(1, FewRowGemm.SweepRows(m: 1, k: 512, n: 640, columns: 640, tileColumns: 128));
        Assert.Equal(1, FewRowGemm.SweepRows(m: 3, k: 512, n: 640, columns: 256, tileColumns: 128));
        Assert.Equal(16, FewRowGemm.SweepRows(m: 8, k: 520, n: 600, columns: 600, tileColumns: 64));
        // Exactly 1 MiB still fits: one sweep of all of k.
        Assert.Equal(512, FewRowGemm.SweepRows(m: 1, k: 512, n: 512, columns: 512, tileColumns: 128));
        // A chunk one tile wide reads one tile's part of each row whichever way it sweeps.
        Assert.Equal(768, FewRowGemm.SweepRows(m: 1, k: 768, n: 3072, columns: 128, tileColumns: 128));
    }

    [Fact]
    public void A_prompt_of_a_small_model_streams_its_weights_and_a_larger_models_prompt_packs_them()
    {
        Assert.True(FewRowGemm.Suits(rows: 1, k: 768, n: 3072));
        Assert.True(FewRowGemm.Suits(rows: 16, k: 768, n: 3072));
        Assert.False(FewRowGemm.Suits(rows: 17, k: 768, n: 3072));
        Assert.True(FewRowGemm.Suits(rows: 128, k: 128, n: 512));
        Assert.False(FewRowGemm.Suits(rows: 129, k: 128, n: 512));
    }

    [Fact]
    public void Wrong_lengths_are_rejected_naming_the_expected_size()
    {
        var error = Assert.Throws<ArgumentException>(() => FewRowGemm.Multiply(new float[6], new float[6], default, new float[5], 2, 3, 2, 1));
        Assert.Contains("expected 4", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => FewRowGemm.Multiply(new float[6], new float[6], new float[3], new float[4], 2, 3, 2, 1));
        Assert.Throws<ArgumentException>(() => FewRowGemm.MultiplyTransposed(new float[6], new float[5], new float[4], 2, 3, 2, 1));
    }
}
