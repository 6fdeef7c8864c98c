using System;
using System.Runtime.CompilerServices;

namespace FixedShapeAttention.CompilerServices;

/// <summary>One pinned span of a running kernel call.</summary>
internal unsafe struct PinnedRegion
{
    public float* Start;
    public int Length;

    public PinnedRegion(float* start, int length)
    {
        Start = start;
        Length = length;
    }

    /// <summary>Whether <c>[start, start + count)</c> lies inside this region.</summary>
    public readonly bool Contains(ref float start, long count)
    {
        if (Start == null)
        {
            return false;
        }

        nint bytes = Unsafe.ByteOffset(ref Unsafe.AsRef<float>(Start), ref start);
        if (bytes < 0 || bytes % sizeof(float) != 0)
        {
            return false;
        }

        long first = bytes / sizeof(float);
        return first <= Length && count <= Length - first;
    }
}

/// <summary>
/// The pinned spans of one running <see cref="ParallelRunner"/> call, and which call the current thread is running a
/// chunk of. The members that generated code calls with a <c>ref float</c> and a count (<see cref="ActivationPass"/>,
/// <see cref="KeyPacking"/>) cannot bounds-check a bare ref, so they check that the range lies inside a buffer of the
/// running call or the thread's <see cref="WorkerScratch"/>: from safe code, a ref to anything else is rejected.
/// </summary>
internal unsafe struct KernelCall
{
    [ThreadStatic]
    private static KernelCall* t_current;

    public PinnedRegion Input0, Input1, Input2, Input3, Input4, Output;
    public int* Counts;
    public int CountsLength;

    /// <summary>Makes <paramref name="call"/> the current thread's call; returns the one to restore after the chunk.</summary>
    public static KernelCall* Enter(KernelCall* call)
    {
        KernelCall* previous = t_current;
        t_current = call;
        return previous;
    }

    public static void Leave(KernelCall* previous) => t_current = previous;

    /// <summary>Throws unless <c>[start, start + count)</c> is inside the running call's output or this thread's scratch.</summary>
    public static void CheckWritable(ref float start, long count, string name)
    {
        CheckCount(count, name);
        KernelCall* call = t_current;
        if (count == 0 || WorkerScratch.Contains(ref start, count) || (call != null && call->Output.Contains(ref start, count)))
        {
            return;
        }

        throw OutsideCall(name, count, "written");
    }

    /// <summary>Throws unless <c>[start, start + count)</c> is inside a span of the running call or this thread's scratch.</summary>
    public static void CheckReadable(ref float start, long count, string name)
    {
        CheckCount(count, name);
        KernelCall* call = t_current;
        if (count == 0 || WorkerScratch.Contains(ref start, count))
        {
            return;
        }

        if (call != null &&
            (call->Input0.Contains(ref start, count) || call->Input1.Contains(ref start, count) || call->Input2.Contains(ref start, count) ||
             call->Input3.Contains(ref start, count) || call->Input4.Contains(ref start, count) || call->Output.Contains(ref start, count)))
        {
            return;
        }

        throw OutsideCall(name, count, "read");
    }

    private static void CheckCount(long count, string name)
    {
        if (count < 0)
        {
            throw new ArgumentOutOfRangeException(name, count, $"{name}: the range to access has a negative length ({count}).");
        }
    }

    private static ArgumentException OutsideCall(string name, long count, string access) =>
        new($"{name}: the {count} floats to be {access} do not lie inside a buffer of the running kernel call or this thread's WorkerScratch. " +
            "The ref overloads are for generated kernels during a ParallelRunner call; use the span overload elsewhere.", name);
}
