using System;
using FixedShapeAttention.Scheduling;
using FixedShapeAttention.CompilerServices;

// Row-wise layer normalisation, optionally of a sum: y = (s − mean(s)) / √(var(s) + ε) · γ + β with s = x (+ r).
// Mean and variance are two passes over the row (not E[s²] − E[s]², which cancels catastrophically when the mean is
// large), with lane sums widened to double, so the statistics carry no error the float32 output could show.

namespace FixedShapeAttention.Kernels;

internal readonly unsafe struct LayerNormKernel<TVec, TOps> : IChunkKernel
    where TVec : struct
    where TOps : IVectorOps<TVec>
{
    private readonly int _rowLength, _rows, _rowsPerChunk;
    private readonly float _epsilon;
    private readonly bool _addResidual;

    public LayerNormKernel(int rowLength, int rows, int rowsPerChunk, float epsilon, bool addResidual)
    {
        _rowLength = rowLength;
        _rows = rows;
        _rowsPerChunk = rowsPerChunk;
        _epsilon = epsilon;
        _addResidual = addResidual;
    }

    /// <remarks>Input0 = x, Input1 = residual (when added), Input2 = γ, Input3 = β, Output = y.</remarks>
    public void Execute(in KernelBuffers buffers, int chunk)
    {
        int n = _rowLength;
        int first = chunk * _rowsPerChunk;
        int last = Math.Min(_rows, first + _rowsPerChunk);
        for (int row = first; row < last; row++)
        {
            nint offset = (nint)row * n;
            float* y = buffers.OutputPointer + offset;
            float* x = buffers.Input0Pointer + offset;
            if (_addResidual)
            {
                Sum(x, buffers.Input1Pointer + offset, y, n);
                x = y;
            }

            NormalizeRow(x, buffers.Input2Pointer, buffers.Input3Pointer, y, n, _epsilon);
        }
    }

    // Element by element, so y may be x or r itself.
    private static void Sum(float* x, float* r, float* y, int n)
    {
        int w = TOps.Count, j = 0;
        for (; j <= n - w; j += w)
        {
            TOps.Store(TOps.Add(TOps.Load(x + j), TOps.Load(r + j)), y + j);
        }

        for (; j < n; j++)
        {
            y[j] = x[j] + r[j];
        }
    }

    private static void NormalizeRow(float* x, float* gamma, float* beta, float* y, int n, float epsilon)
    {
        int w = TOps.Count;
        TVec lanes = TOps.Zero;
        int j = 0;
        for (; j <= n - w; j += w)
        {
            lanes = TOps.Add(lanes, TOps.Load(x + j));
        }

        double sum = TOps.SumAcrossAsDouble(lanes);
        for (; j < n; j++)
        {
            sum += x[j];
        }

        float mean = (float)(sum / n);
        TVec meanVector = TOps.Broadcast(mean);
        lanes = TOps.Zero;
        for (j = 0; j <= n - w; j += w)
        {
            TVec centred = TOps.Subtract(TOps.Load(x + j), meanVector);
            lanes = TOps.MultiplyAdd(centred, centred, lanes);
        }

        double squares = TOps.SumAcrossAsDouble(lanes);
        for (; j < n; j++)
        {
            double centred = x[j] - mean;
            squares += centred * centred;
        }

        float inverseDeviation = (float)(1.0 / Math.Sqrt(squares / n + epsilon));
        TVec scale = TOps.Broadcast(inverseDeviation);
        for (j = 0; j <= n - w; j += w)
        {
            TVec normalized = TOps.Multiply(TOps.Subtract(TOps.Load(x + j), meanVector), scale);
            TOps.Store(TOps.MultiplyAdd(normalized, TOps.Load(gamma + j), TOps.Load(beta + j)), y + j);
        }

        for (; j < n; j++)
        {
            y[j] = MathF.FusedMultiplyAdd((x[j] - mean) * inverseDeviation, gamma[j], beta[j]);
        }
    }
}
