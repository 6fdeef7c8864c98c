using System;
using System.Linq;
using FixedShapeAttention;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>The generated ProjectionBackward against a float64 backward pass of y = x·W + b, overwriting and accumulating dx.</summary>
public class GeneratedProjectionBackwardTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gradients_match_the_float64_reference(bool accumulate)
    {
        Check<Odd>(accumulate);
        Check<ThreeHeads>(accumulate);
        Check<Medium>(accumulate);
    }

    private static void Check<T>(bool accumulate)
        where T : ITrainingKernels
    {
        int batch = 3, rows = batch * T.SequenceLength, e = T.EmbeddingDim;
        float[] x = TestData.Uniform(rows * e, 41), dy = TestData.Uniform(rows * e, 42), w = TestData.Uniform(e * e, 43, (float)Math.Sqrt(3.0 / e));
        float[] dx = TestData.Uniform(rows * e, 44);
        float[] dw = Enumerable.Repeat(0.25f, e * e).ToArray(), db = Enumerable.Repeat(0.25f, e).ToArray();
        double[] wantDx = accumulate ? dx.Select(v => (double)v).ToArray() : new double[rows * e];
        var wantDw = Enumerable.Repeat(0.25, e * e).ToArray();
        var wantDb = Enumerable.Repeat(0.25, e).ToArray();
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < e; j++)
            {
                wantDb[j] += dy[r * e + j];
                for (int i = 0; i < e; i++)
                {
                    wantDw[i * e + j] += (double)x[r * e + i] * dy[r * e + j];
                    wantDx[r * e + i] += (double)dy[r * e + j] * w[i * e + j];
                }
            }
        }

        T.ProjectionBackward(x, w, dy, dx, dw, db, accumulate, -1);
        AssertClose(wantDx, dx, $"{typeof(T).Name} dx");
        AssertClose(wantDw, dw, $"{typeof(T).Name} dW");
        AssertClose(wantDb, db, $"{typeof(T).Name} db");
    }

    /// <summary>|got − want| ≤ 2e-5·(RMS of want + |want|), as the feed-forward backward tests.</summary>
    private static void AssertClose(double[] want, float[] got, string what)
    {
        double rms = Math.Sqrt(want.Sum(v => v * v) / want.Length);
        for (int i = 0; i < want.Length; i++)
        {
            Assert.True(Math.Abs(got[i] - want[i]) <= 2e-5 * (rms + Math.Abs(want[i])), $"{what}[{i}]: {got[i]:E6} against {want[i]:E6} (RMS {rms:E3})");
        }
    }
}
