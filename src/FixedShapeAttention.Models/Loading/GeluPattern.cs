using System.IO;
using System;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention.Models.Onnx;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// Checks that the feed-forward activation is the exact GELU, <c>0.5·x·(1 + erf(x/√2))</c>, the one BERT uses and the
/// kernels' <c>Activation.Gelu</c> computes. A model using the tanh approximation, ReLU or anything else is rejected:
/// loading it would give weights that silently compute a different function. Accepted forms:
/// <list type="bullet">
/// <item>a fused <c>Gelu</c> node: ONNX opset 20 with <c>approximate</c> absent or "none", or com.microsoft's (erf);</item>
/// <item>the decomposition PyTorch exports: one <c>Erf</c> of <c>x/√2</c> (or <c>x·(1/√2)</c>), <c>+ 1</c>, and the
/// factors <c>x</c> and <c>0.5</c> in any order, built only from Mul, Div, Add and Erf with constant operands.</item>
/// </list>
/// </summary>
internal static class GeluPattern
{
    // The decomposition has 5 nodes; the bound stops a walk through a miswired graph after a few steps.
    private const int MaxNodes = 8;
    private const float Tolerance = 1e-5f;

    public static void Check(OnnxGraph graph, string preActivation, string activated, string where)
    {
        if (activated == preActivation)
            throw new InvalidDataException($"{where}: no activation between '{preActivation}' and the second projection; expected the erf GELU.");

        NodeProto? last = graph.Producer(activated);
        if (last is { OpType: "Gelu" })
        {
            CheckFused(last, preActivation, where);
            return;
        }

        CheckDecomposed(graph, preActivation, activated, where);
    }

    private static void CheckFused(NodeProto gelu, string preActivation, string where)
    {
        if (gelu.Input.Count != 1 || gelu.Input[0] != preActivation)
            throw new InvalidDataException($"{where}: expected {OnnxGraph.Describe(gelu)} to take '{preActivation}'.");

        if (OnnxGraph.IsDefaultDomain(gelu))
        {
            AttributeProto? approximate = gelu.Attribute.FirstOrDefault(a => a.Name == "approximate");
            string mode = approximate?.S.ToStringUtf8() ?? "none";
            if (mode != "none")
                throw new InvalidDataException($"{where}: {OnnxGraph.Describe(gelu)} uses approximate = \"{mode}\"; only the exact (erf) GELU is supported.");
        }
        else if (gelu.Domain != "com.microsoft")
        {
            throw new InvalidDataException($"{where}: {OnnxGraph.Describe(gelu)} is from domain '{gelu.Domain}', whose GELU is not known to be the erf form.");
        }
    }

    private static void CheckDecomposed(OnnxGraph graph, string preActivation, string activated, string where)
    {
        string notGelu = $"{where}: the activation from '{preActivation}' to '{activated}' is not the erf GELU";

        // Walk back from the activation's output to the pre-activation, collecting every node and constant on the way.
        var seen = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<string>();
        pending.Push(activated);
        NodeProto? erf = null;
        bool reachesInput = false, addsOne = false, halves = false;
        while (pending.Count > 0)
        {
            string value = pending.Pop();
            NodeProto node = graph.Producer(value)
                ?? throw new InvalidDataException($"{notGelu}: it depends on '{value}', which is {GraphExpect.Origin(graph, value)}.");
            if (!seen.Add(node))
                continue;
            if (seen.Count > MaxNodes)
                throw new InvalidDataException($"{notGelu}: more than {MaxNodes} nodes lie between them.");
            if (node.OpType is not ("Mul" or "Div" or "Add" or "Erf") || !OnnxGraph.IsDefaultDomain(node))
                throw new InvalidDataException($"{notGelu}: it contains {OnnxGraph.Describe(node)}.");
            if (node.OpType == "Erf")
            {
                if (erf is not null)
                    throw new InvalidDataException($"{notGelu}: it contains two Erf nodes.");
                erf = node;
            }

            for (int i = 0; i < node.Input.Count; i++)
            {
                string input = node.Input[i];
                if (input == preActivation)
                {
                    reachesInput = true;
                    continue;
                }

                TensorProto? constant = graph.Constant(input);
                if (constant is null)
                {
                    pending.Push(input);
                    continue;
                }

                if (!TensorReader.IsScalarFloat(constant))
                    throw new InvalidDataException($"{notGelu}: {OnnxGraph.Describe(node)} uses the non-scalar constant '{input}'.");
                float c = TensorReader.ReadScalarFloat(constant, where + " GELU constant");
                addsOne |= node.OpType == "Add" && Near(c, 1f);
                halves |= (node.OpType == "Mul" && Near(c, 0.5f)) || (node.OpType == "Div" && i == 1 && Near(c, 2f));
            }
        }

        if (erf is null)
            throw new InvalidDataException($"{notGelu}: it has no Erf node (a tanh approximation, ReLU or SiLU is not supported).");
        if (!reachesInput || !addsOne || !halves)
            throw new InvalidDataException($"{notGelu}: expected 0.5·x·(1 + erf(x/√2)), found an Erf without {(!reachesInput ? "x" : !addsOne ? "the + 1" : "the factor 0.5")}.");

        // The Erf must see x/√2: either Div(x, √2) or Mul(x, 1/√2).
        string argument = erf.Input.Count == 1 ? erf.Input[0] : "";
        NodeProto? scale = graph.Producer(argument);
        bool scaledBySqrt2 = scale is { Input.Count: 2 } && OnnxGraph.IsDefaultDomain(scale) && (
            (scale.OpType == "Div" && scale.Input[0] == preActivation && ConstantNear(graph, scale.Input[1], MathF.Sqrt(2f))) ||
            (scale.OpType == "Mul" && scale.Input.Contains(preActivation) && ConstantNear(graph, OtherOf(scale, preActivation), 1f / MathF.Sqrt(2f))));
        if (!scaledBySqrt2)
            throw new InvalidDataException($"{notGelu}: the Erf's argument '{argument}' is not '{preActivation}' / √2.");
    }

    private static string OtherOf(NodeProto node, string value) => node.Input[0] == value ? node.Input[1] : node.Input[0];

    private static bool ConstantNear(OnnxGraph graph, string value, float expected)
    {
        TensorProto? constant = graph.Constant(value);
        return constant is not null && TensorReader.IsScalarFloat(constant) && Near(TensorReader.ReadScalarFloat(constant, "GELU constant"), expected);
    }

    private static bool Near(float actual, float expected) => MathF.Abs(actual - expected) <= Tolerance * MathF.Abs(expected);
}
