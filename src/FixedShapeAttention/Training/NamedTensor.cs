using System;

namespace FixedShapeAttention.Training;

/// <summary>A float32 tensor with a name and a row-major shape: one entry of a checkpoint.</summary>
public sealed class NamedTensor
{
    private readonly int[] _shape;

    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of <paramref name="shape"/> (copied).</summary>
    /// <exception cref="ArgumentException">The name is empty, a dimension is negative, or the data's length is not the
    /// product of the shape.</exception>
    public NamedTensor(string name, ReadOnlySpan<int> shape, float[] data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(data);
        long elements = 1;
        foreach (int dimension in shape)
        {
            if (dimension < 0)
                throw new ArgumentException($"shape: every dimension must be ≥ 0, got {dimension} in tensor '{name}'.", nameof(shape));
            elements = Math.Min(elements * dimension, long.MaxValue / int.MaxValue);
        }

        if (elements != data.Length)
            throw new ArgumentException(
                $"data: expected {elements} = the product of shape [{string.Join(", ", shape.ToArray())}], got {data.Length} for tensor '{name}'.",
                nameof(data));

        Name = name;
        _shape = shape.ToArray();
        Data = data;
    }

    /// <summary>The tensor's name, unique within a checkpoint.</summary>
    public string Name { get; }

    /// <summary>The dimensions, outermost first; empty for a scalar.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The elements, row-major.</summary>
    public float[] Data { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(", ", _shape)}]";
}
