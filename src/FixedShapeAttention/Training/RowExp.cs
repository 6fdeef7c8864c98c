using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Training;

/// <summary>
/// The exponentials of one attention score row, s·scale − shift, at the widest width. Every element goes through the
/// vector formula (the last few through one vector staged on the stack, padded with −∞, whose exponential is 0), so a
/// score gets the same bits whatever the row's length; sums are widened to double in lane order.
/// </summary>
internal static class RowExp
{
    public static float Max(ReadOnlySpan<float> row, float scale)
    {
        float max = float.NegativeInfinity;
        foreach (float s in row)
            max = MathF.Max(max, s * scale);
        return max;
    }

    /// <summary>Σ e^(s·scale − shift) in double.</summary>
    public static double Sum(ReadOnlySpan<float> row, float scale, float shift)
    {
        double sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var scaleVector = Vector512.Create(scale);
            var shiftVector = Vector512.Create(shift);
            var lanes = Vector512<double>.Zero;
            int i = 0;
            for (; i <= row.Length - 16; i += 16)
            {
                var e = ExpOperator.Invoke(Vector512.Create(row.Slice(i, 16)) * scaleVector - shiftVector);
                lanes += Vector512.WidenLower(e) + Vector512.WidenUpper(e);
            }

            if (i < row.Length)
            {
                var e = ExpOperator.Invoke(Staged512(row[i..]) * scaleVector - shiftVector);
                lanes += Vector512.WidenLower(e) + Vector512.WidenUpper(e);
            }

            return Vector512.Sum(lanes);
        }

        foreach (float s in row)
            sum += ExpOperator.Invoke(s * scale - shift);
        return sum;
    }

    /// <summary>row[j] ← e^(row[j]·scale − shift).</summary>
    public static void Write(Span<float> row, float scale, float shift)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var scaleVector = Vector512.Create(scale);
            var shiftVector = Vector512.Create(shift);
            ref float r0 = ref MemoryMarshal.GetReference(row);
            int i = 0;
            for (; i <= row.Length - 16; i += 16)
                ExpOperator.Invoke(Vector512.LoadUnsafe(ref r0, (nuint)i) * scaleVector - shiftVector).StoreUnsafe(ref r0, (nuint)i);
            if (i < row.Length)
            {
                Span<float> staged = stackalloc float[16];
                ExpOperator.Invoke(Staged512(row[i..]) * scaleVector - shiftVector).CopyTo(staged);
                staged[..(row.Length - i)].CopyTo(row[i..]);
            }

            return;
        }

        for (int i = 0; i < row.Length; i++)
            row[i] = ExpOperator.Invoke(row[i] * scale - shift);
    }

    private static Vector512<float> Staged512(ReadOnlySpan<float> tail)
    {
        Span<float> staged = stackalloc float[16];
        staged.Fill(float.NegativeInfinity);
        tail.CopyTo(staged);
        return Vector512.Create<float>(staged);
    }
}
