using System;
using System.Collections.Generic;
using System.Linq;

namespace FixedShapeAttention.Training;

/// <summary>The tensors and metadata of one safetensors file, in the order its header lists them.</summary>
public sealed class SafetensorsFile
{
    private readonly Dictionary<string, NamedTensor> _byName;

    internal SafetensorsFile(IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Every tensor, in header order.</summary>
    public IReadOnlyList<NamedTensor> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> entries; empty when it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor; the message lists the names it has.</exception>
    public NamedTensor this[string name]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(name);
            return _byName.TryGetValue(name, out NamedTensor? tensor)
                ? tensor
                : throw new KeyNotFoundException(
                    $"the checkpoint has no tensor '{name}'; it has {string.Join(", ", Tensors.Take(20).Select(t => $"'{t.Name}'"))}{(Tensors.Count > 20 ? ", …" : "")}.");
        }
    }

    /// <summary>Whether the file has a tensor named <paramref name="name"/>, and that tensor.</summary>
    public bool TryGetTensor(string name, out NamedTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out tensor!);
    }
}
