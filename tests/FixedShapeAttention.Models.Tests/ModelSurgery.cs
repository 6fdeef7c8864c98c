using System.Linq;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Tests;

/// <summary>Finds the nodes and tensors of a <see cref="ModelProto"/> that a hostile-model test changes.</summary>
internal static class ModelSurgery
{
    public static TensorProto Tensor(ModelProto model, string name) => model.Graph.Initializer.Single(t => t.Name == name);

    public static void Remove(ModelProto model, string name) => model.Graph.Initializer.Remove(Tensor(model, name));

    /// <summary>The only node that takes <paramref name="value"/> as an input.</summary>
    public static NodeProto User(ModelProto model, string value) => model.Graph.Node.Single(n => n.Input.Contains(value));

    /// <summary>The node whose output is <paramref name="value"/>.</summary>
    public static NodeProto Producer(ModelProto model, string value) => model.Graph.Node.Single(n => n.Output.Contains(value));
}
