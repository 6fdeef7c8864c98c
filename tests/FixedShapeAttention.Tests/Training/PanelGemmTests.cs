using System;
using System.Linq;
using FixedShapeAttention.Kernels;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

public sealed class PanelGemmTests
{
    public static TheoryData<int, int, int> Sizes => new()
    {
        // Row tails after 6-row (Vector512) and 4-row tiles, column tails around every panel width (4, 16, 64) and below one
        // vector, k of 0 and 1.
        { 1, 1, 1 }, { 3, 5, 7 }, { 4, 16, 9 }, { 5, 17, 64 }, { 17, 63, 33 }, { 8, 64, 1 }, { 9, 65, 40 }, { 33, 130, 70 }, { 2, 3, 0 }, { 64, 200, 128 },
        // Two-vector panels on Vector512 (n ≤ 32): 8-row tiles, then a 4-row tile and a row tail, full and partial.
        { 21, 32, 50 }, { 13, 31, 17 },
        // Deeper than one L2 block of a 64-column panel (2048): the k blocks resume the chains stored in C.
        { 9, 64, 4100 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Every_transposition_matches_the_float64_product(int m, int n, int k)
    {
        foreach (bool transposeA in new[] { false, true })
        {
            foreach (bool transposeB in new[] { false, true })
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    foreach (int threads in new[] { 1, -1 })
                        Check(m, n, k, transposeA, transposeB, accumulate, threads);
                }
            }
        }
    }

    private static void Check(int m, int n, int k, bool transposeA, bool transposeB, bool accumulate, int threads)
    {
        // Strides wider than the rows, so a kernel that ignores them reads the wrong elements.
        int lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 2, ldc = n + 5;
        float[] a = TestData.Uniform((transposeA ? k : m) * lda + 1, m + 10 * n + k);
        float[] b = TestData.Uniform((transposeB ? n : k) * ldb + 1, 7 * m + n);
        float[] c = TestData.Uniform(m * ldc, 3);
        float[] before = (float[])c.Clone();

        PanelGemm.Multiply(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, maxDegreeOfParallelism: threads);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                if (j >= n)
                {
                    Assert.Equal(before[i * ldc + j], c[i * ldc + j]);
                    continue;
                }

                double sum = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double product = (double)a[transposeA ? p * lda + i : i * lda + p] * b[transposeB ? j * ldb + p : p * ldb + j];
                    sum += product;
                    magnitude += Math.Abs(product);
                }

                double expected = accumulate ? before[i * ldc + j] + sum : sum;
                // A float32 dot product of depth k errs by at most γₖ·Σ|aᵢbᵢ| (Higham §3.1), plus the rounding of the add.
                double bound = k * 6e-8 * magnitude + 6e-8 * Math.Abs(expected) + 1e-30;
                Assert.True(Math.Abs(c[i * ldc + j] - expected) <= bound,
                    $"tA {transposeA} tB {transposeB} acc {accumulate}: c[{i},{j}] = {c[i * ldc + j]}, expected {expected}");
            }
        }
    }

    [Fact]
    public void Results_are_the_same_bits_for_every_degree_of_parallelism()
    {
        const int M = 96, N = 150, K = 300;
        float[] a = TestData.Uniform(K * M, 1), b = TestData.Uniform(N * K, 2);
        float[] one = new float[M * N], all = new float[M * N];
        PanelGemm.Multiply(a, M, true, b, K, true, one, N, M, N, K, accumulate: false, maxDegreeOfParallelism: 1);
        PanelGemm.Multiply(a, M, true, b, K, true, all, N, M, N, K, accumulate: false, maxDegreeOfParallelism: -1);
        Assert.Equal(one.Select(BitConverter.SingleToInt32Bits), all.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Short_operands_are_refused_before_any_write()
    {
        float[] c = Enumerable.Repeat(5f, 12).ToArray();
        Assert.Throws<ArgumentException>(() => PanelGemm.Multiply(new float[11], 4, false, new float[12], 3, false, c, 3, 3, 3, 4, false, 1));
        Assert.Throws<ArgumentException>(() => PanelGemm.Multiply(new float[12], 4, false, new float[11], 3, false, c, 3, 3, 3, 4, false, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PanelGemm.Multiply(new float[12], 2, false, new float[12], 3, false, c, 3, 3, 3, 4, false, 1));
        Assert.Throws<ArgumentException>(() => PanelGemm.Multiply(new float[12], 4, false, new float[12], 3, false, c.AsSpan(0, 8), 3, 3, 3, 4, false, 1));
        Assert.All(c, x => Assert.Equal(5f, x));
    }

    [Theory]
    [InlineData(37, 70, 256, 64, false, 0)]
    [InlineData(37, 70, 250, 64, true, 0)]
    [InlineData(20, 32, 96, 32, false, 0)]
    [InlineData(9, 130, 45, 7, true, 0)]
    [InlineData(5, 3, 12, 5, false, 0)]
    [InlineData(9, 64, 4100, 1000, false, 0)]
    [InlineData(1027, 20, 45, 7, false, 1027)]
    [InlineData(40, 64, 4100, 1000, false, 1024)]
    [InlineData(37, 70, 131, 50, false, 1030)]
    public void A_chained_product_split_along_k_gives_the_bits_of_one_fma_chain_from_c(int m, int n, int k, int part, bool transposeB, int stride)
    {
        // Xᵀ·dY as a weight gradient: A transposed, B as stored (or transposed), k split into micro-batches of `part` rows;
        // partial panels, two-vector panels, Aᵀ's k blocks (128 deep) and an Aᵀ whose rows are a page or more apart
        // (stride 1027: copied into row blocks under 4-row tiles).
        int lda = stride != 0 ? stride : m, ldb = transposeB ? k : n;
        float[] a = TestData.Uniform(k * lda, 11), b = TestData.Uniform((transposeB ? n : k) * ldb, 12);
        float[] start = TestData.Uniform(m * n, 13);
        foreach (int threads in new[] { 1, 2, -1 })
        {
            float[] whole = (float[])start.Clone(), parts = (float[])start.Clone();
            PanelGemm.MultiplyAccumulateChained(a, lda, true, b, ldb, transposeB, whole, n, m, n, k, threads);
            for (int first = 0; first < k; first += part)
            {
                int count = Math.Min(part, k - first);
                ReadOnlySpan<float> bPart = transposeB ? b.AsSpan(first) : b.AsSpan(first * ldb);
                PanelGemm.MultiplyAccumulateChained(a.AsSpan(first * lda), lda, true, bPart, ldb, transposeB, parts, n, m, n, count, threads);
            }

            Assert.Equal(whole.Select(BitConverter.SingleToInt32Bits), parts.Select(BitConverter.SingleToInt32Bits));
            if (!System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated || n < 8)
                continue;

            // On the vector branches each element is fma(a, b, acc) in k order from C's value.
            for (int i = 0; i < m; i += Math.Max(1, m / 40))
            {
                for (int j = 0; j < n; j++)
                {
                    float chain = start[i * n + j];
                    for (int p = 0; p < k; p++)
                        chain = MathF.FusedMultiplyAdd(a[p * lda + i], b[transposeB ? j * ldb + p : p * ldb + j], chain);
                    Assert.Equal(BitConverter.SingleToInt32Bits(chain), BitConverter.SingleToInt32Bits(whole[i * n + j]));
                }
            }
        }
    }

    [Theory]
    [InlineData(9, 64, 4100, false, 0)]
    [InlineData(20, 32, 300, true, 0)]
    [InlineData(6, 130, 77, false, 0)]
    // Aᵀ with a row stride of a page or more: read in place in k blocks under Vector512's tiles, copied into 4-row blocks
    // under 4-row tiles (n < 16 here; every case on the Vector256 and scalar passes): tails in m and k, two-vector
    // panels, a block tail of one row.
    [InlineData(37, 70, 131, true, 1030)]
    [InlineData(1030, 64, 9, true, 1030)]
    [InlineData(21, 32, 50, true, 1024)]
    [InlineData(13, 31, 3, true, 2048)]
    [InlineData(37, 12, 50, true, 1030)]
    [InlineData(40, 64, 4100, true, 1024)]
    public void Every_output_is_one_fused_multiply_add_chain_in_k_order(int m, int n, int k, bool transposeA, int stride)
    {
        // On the vector branches each lane is fma(a, b, acc) from 0 in k order, whatever the tile shape, k blocking or
        // copy of Aᵀ.
        Assert.SkipUnless(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated && n >= 8, "the scalar branch multiplies and adds");
        int lda = stride != 0 ? stride : transposeA ? m : k;
        float[] a = TestData.Uniform((transposeA ? k : m) * lda, 21), b = TestData.Uniform(k * n, 22), c = new float[m * n];
        foreach (int threads in new[] { 1, -1 })
        {
            PanelGemm.Multiply(a, lda, transposeA, b, n, false, c, n, m, n, k, accumulate: false, maxDegreeOfParallelism: threads);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    float chain = 0;
                    for (int p = 0; p < k; p++)
                        chain = MathF.FusedMultiplyAdd(a[transposeA ? p * lda + i : i * lda + p], b[p * n + j], chain);
                    Assert.Equal(BitConverter.SingleToInt32Bits(chain), BitConverter.SingleToInt32Bits(c[i * n + j]));
                }
            }
        }
    }

    [Theory]
    [InlineData(37, 70, 131, false, false)]
    [InlineData(9, 64, 4100, false, false)]
    [InlineData(21, 32, 50, true, false)]
    [InlineData(64, 200, 128, false, true)]
    [InlineData(13, 5, 7, true, true)]
    public void A_bias_added_in_the_product_gives_the_bits_of_a_separate_pass(int m, int n, int k, bool transposeA, bool transposeB)
    {
        // Full and partial panels, the k-blocked sweep (k 4100), 8-row tiles and the scalar width.
        int lda = transposeA ? m : k, ldb = transposeB ? k : n;
        float[] a = TestData.Uniform(m * k, 31), b = TestData.Uniform(k * n, 32), bias = TestData.Uniform(n, 33);
        float[] expected = new float[m * n];
        PanelGemm.Multiply(a, lda, transposeA, b, ldb, transposeB, expected, n, m, n, k, accumulate: false, maxDegreeOfParallelism: 1);
        FixedShapeAttention.Training.TrainingKernels.AddBias(expected, bias);
        foreach (int threads in new[] { 1, -1 })
        {
            float[] actual = new float[m * n];
            PanelGemm.MultiplyAddBias(a, lda, transposeA, b, ldb, transposeB, actual, n, m, n, k, bias, threads);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        }

        Assert.Throws<ArgumentException>(() => PanelGemm.MultiplyAddBias(a, lda, transposeA, b, ldb, transposeB, new float[m * n], n, m, n, k, bias.AsSpan(1), 1));
    }

    [Theory]
    [InlineData(37, 70, 131, 7)]
    [InlineData(64, 256, 300, 128)]
    [InlineData(20, 5, 33, 10)]
    [InlineData(1027, 20, 45, 16)]
    public void Column_sums_taken_with_a_chained_product_are_the_bits_of_one_sum_per_run(int m, int n, int k, int sumRows)
    {
        // A weight gradient and its bias gradient: dW as without the sums, db as ColumnSums once per run of rows, on one
        // thread (summed while dY is packed) and on more (a pass of their own); partial panels, a tall Aᵀ (m 1027).
        float[] a = TestData.Uniform(k * m, 41), b = TestData.Uniform(k * n, 42), start = TestData.Uniform(m * n, 43), startSums = TestData.Uniform(n, 44);
        float[] expected = (float[])start.Clone(), expectedSums = (float[])startSums.Clone();
        PanelGemm.MultiplyAccumulateChained(a, m, true, b, n, false, expected, n, m, n, k, maxDegreeOfParallelism: 1);
        for (int first = 0; first < k; first += sumRows)
            ColumnSums.AddTo(b.AsSpan(first * n), n, Math.Min(sumRows, k - first), expectedSums);
        foreach (int threads in new[] { 1, -1 })
        {
            float[] actual = (float[])start.Clone(), sums = (float[])startSums.Clone();
            PanelGemm.MultiplyAccumulateChained(a, m, true, b, n, actual, n, m, n, k, sums, sumRows, threads);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(expectedSums.Select(BitConverter.SingleToInt32Bits), sums.Select(BitConverter.SingleToInt32Bits));
        }
    }
}
