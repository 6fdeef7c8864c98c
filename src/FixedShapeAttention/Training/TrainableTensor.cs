using System;

namespace FixedShapeAttention.Training;

/// <summary>A parameter of a model being trained: its values, the gradient a backward pass accumulates into, and
/// whether weight decay applies to it (matrices: yes; biases and LayerNorm's γ and β: conventionally no).</summary>
public sealed class TrainableTensor
{
    private readonly int[] _shape;

    /// <summary>A parameter of <paramref name="shape"/> with zero values and a zero gradient.</summary>
    /// <exception cref="ArgumentException">The name is empty, or a dimension is negative or the product too large.</exception>
    public TrainableTensor(string name, ReadOnlySpan<int> shape, bool decaysWeights)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long elements = 1;
        foreach (int dimension in shape)
        {
            if (dimension < 0)
                throw new ArgumentException($"shape: every dimension must be ≥ 0, got {dimension} in parameter '{name}'.", nameof(shape));
            elements = dimension == 0 || elements == 0 ? 0 : elements > Array.MaxLength / dimension ? long.MaxValue : elements * dimension;
        }

        if (elements > Array.MaxLength)
            throw new ArgumentException($"shape: parameter '{name}' would have more than {Array.MaxLength} elements.", nameof(shape));

        Name = name;
        _shape = shape.ToArray();
        Value = new float[elements];
        Gradient = new float[elements];
        DecaysWeights = decaysWeights;
    }

    /// <summary>The parameter's name, as a checkpoint stores it.</summary>
    public string Name { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The values, row-major.</summary>
    public float[] Value { get; }

    /// <summary>The gradient of the loss with respect to <see cref="Value"/>, same layout.</summary>
    public float[] Gradient { get; }

    /// <summary>Whether AdamW's decoupled weight decay shrinks this parameter.</summary>
    public bool DecaysWeights { get; }

    /// <summary>The parameter's values as a checkpoint tensor (sharing the array).</summary>
    public NamedTensor ToNamedTensor() => new(Name, _shape, Value);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(", ", _shape)}]";
}
